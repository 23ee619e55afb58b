package hub

import "time"

// Observer is told what the hub does, for metrics. Its methods are called on
// hot paths and must be cheap and safe for concurrent use.
type Observer interface {
	Connected()
	Disconnected()
	RoomCreated()
	RoomDeleted()
	MembersChanged(delta int)
	Received()                    // one inbound data frame
	Delivered(n int)              // n room messages queued for members
	Dropped(n int)                // n queued messages dropped by the drop-oldest policy
	SlowClientClosed()            // a connection closed because its queue was full
	ErrorSent(code string)        // an error frame, or a refusal, by code
	Written(oldest time.Duration) // one socket write; how long its oldest frame waited
	Resumed(reason string)        // a join with since: reason "" when recovered
	DuplicateSuppressed()         // a publish whose key the room had seen
}

// nopObserver observes nothing.
type nopObserver struct{}

func (nopObserver) Connected()            {}
func (nopObserver) Disconnected()         {}
func (nopObserver) RoomCreated()          {}
func (nopObserver) RoomDeleted()          {}
func (nopObserver) MembersChanged(int)    {}
func (nopObserver) Received()             {}
func (nopObserver) Delivered(int)         {}
func (nopObserver) Dropped(int)           {}
func (nopObserver) SlowClientClosed()     {}
func (nopObserver) ErrorSent(string)      {}
func (nopObserver) Written(time.Duration) {}
func (nopObserver) Resumed(string)        {}
func (nopObserver) DuplicateSuppressed()  {}

var _ Observer = nopObserver{}
