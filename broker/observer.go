package broker

import "time"

// Observer is told what the broker goes through, for metrics.
type Observer interface {
	// State is called when Redis becomes reachable (up) or not.
	State(up bool)
	// Error counts one failed operation: "publish", "join", "leave",
	// "history", "presence", "admin", "heartbeat", "sweep", "subscribe",
	// "repair".
	Error(op string)
	// Lag is how long a message took from its publish script to this
	// node's subscription.
	Lag(d time.Duration)
	// GapRepaired counts n messages missed on the subscription and handed
	// again from the stream.
	GapRepaired(n int)
	// Resynced counts a room whose local members were told to resync.
	Resynced()
}

// nopObserver is the Observer of a broker without one.
type nopObserver struct{}

func (nopObserver) State(bool)        {}
func (nopObserver) Error(string)      {}
func (nopObserver) Lag(time.Duration) {}
func (nopObserver) GapRepaired(int)   {}
func (nopObserver) Resynced()         {}
