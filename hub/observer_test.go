package hub_test

import (
	"encoding/json"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
)

// writeTimes is an Observer that records what Written is told.
type writeTimes struct {
	mu      sync.Mutex
	written []time.Duration
}

func (o *writeTimes) Connected()           {}
func (o *writeTimes) Disconnected()        {}
func (o *writeTimes) RoomCreated()         {}
func (o *writeTimes) RoomDeleted()         {}
func (o *writeTimes) MembersChanged(int)   {}
func (o *writeTimes) Received()            {}
func (o *writeTimes) Delivered(int)        {}
func (o *writeTimes) Dropped(int)          {}
func (o *writeTimes) SlowClientClosed()    {}
func (o *writeTimes) ErrorSent(string)     {}
func (o *writeTimes) Resumed(string)       {}
func (o *writeTimes) DuplicateSuppressed() {}
func (o *writeTimes) Written(d time.Duration) {
	o.mu.Lock()
	o.written = append(o.written, d)
	o.mu.Unlock()
}

func (o *writeTimes) list() []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]time.Duration(nil), o.written...)
}

var _ hub.Observer = (*writeTimes)(nil)

// TestWriteLatencyIsTheOldestFramesWait: what the write-latency metric
// times is how long a write's oldest frame waited since it was made (for
// a message: since the publish), not how long the write itself took. A
// message published while the connection's previous write is stuck for
// 300 ms is written at once when it clears, yet counts its 300 ms.
func TestWriteLatencyIsTheOldestFramesWait(t *testing.T) {
	obs := &writeTimes{}
	h := hub.New(hub.Options{Observer: obs, NoPoll: true})
	server, client := net.Pipe() // a write blocks until the other end reads it
	cfg := hub.Config{}.WithDefaults()
	go func() { _ = h.Serve(hub.Conn{Net: server, Room: "r"}, &cfg) }()
	t.Cleanup(func() { h.Close(hub.CloseGoingAway, "test over", time.Second); client.Close() })

	deadline := time.Now().Add(5 * time.Second)
	for _, ok, _ := h.Room("r"); !ok; _, ok, _ = h.Room("r") {
		if time.Now().After(deadline) {
			t.Fatal("the connection did not join r within 5s")
		}
		time.Sleep(time.Millisecond)
	}
	if p, ok, err := h.Publish("r", json.RawMessage(`"late"`)); err != nil || !ok || p.Delivered != 1 {
		t.Fatalf("publish: %+v %v %v", p, ok, err)
	}
	const stuck = 300 * time.Millisecond
	time.Sleep(stuck) // the welcome's write waits for this read
	go func() { _, _ = io.Copy(io.Discard, client) }()

	for len(obs.list()) < 2 {
		if time.Now().After(deadline.Add(stuck)) {
			t.Fatalf("writes observed: %v, want 2", obs.list())
		}
		time.Sleep(time.Millisecond)
	}
	// the first write (the welcome, just made) got stuck, which is not
	// what is timed; the second (joined and the message, queued meanwhile)
	// went through at once, but its frames had waited the whole time
	if w := obs.list(); w[0] >= stuck || w[1] < stuck {
		t.Fatalf("observed %v: want the first under %s (the welcome was new) and the second %s or more", w, stuck, stuck)
	}
}
