//go:build !race

// The race detector allocates on its own and makes sync.Pool drop what it
// holds at random, so allocations are counted without it (.ci/run runs
// this test on its own).

package hub

import "testing"

// The hot path's allocations, measured over real TCP sockets: one member's
// publish into a room of members, decoded, fanned out and written to
// every member (the ack to the publisher included). Most of what a publish
// allocates is per message (its frame, the decoded request, the ack); what
// grows with the room is per delivery, and each allocation per delivery is
// 100,000 a second at the load BENCHMARKS.md measures the tail at, and
// garbage the collector must chase. The bounds are what the code does now,
// with a little room for the runtime's own noise; a change that allocates
// once more per delivery (a closure per writer start, a slice header that
// escapes per write, a buffer per read) breaks them.
func TestHotPathAllocations(t *testing.T) {
	tests := []struct {
		name       string
		members    int
		perMessage float64 // allocations per publish, whatever the room's size
		perMember  float64 // allocations per delivery
	}{
		{"room of 10", 10, maxAllocsPerPublish, maxAllocsPerDelivery},
		{"room of 200", 200, maxAllocsPerPublish, maxAllocsPerDelivery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := publishAllocs(t, tt.members, 200)
			bound := tt.perMessage + tt.perMember*float64(tt.members)
			t.Logf("%.1f allocations per publish to %d members (%.3f per delivery); bound %.1f",
				got, tt.members, got/float64(tt.members), bound)
			if got > bound {
				t.Errorf("a publish to %d members allocated %.1f times, more than %.1f", tt.members, got, bound)
			}
		})
	}
}

// The bounds of TestHotPathAllocations.
const (
	maxAllocsPerPublish  = 16
	maxAllocsPerDelivery = 0.05
)

// publishAllocs returns the mean allocations of one member's publish into
// a room of members, until every member's writer has written it and exited.
func publishAllocs(t *testing.T, members, runs int) float64 {
	_, clients := tcpRoom(t, members, allocConfig)
	return clientPublishAllocs(t, clients, runs)
}

// clientPublishAllocs returns the mean allocations of clients[0]'s publish
// into the room of clients, until every member has been written.
func clientPublishAllocs(t *testing.T, clients []*Client, runs int) float64 {
	r := newReader(clients[0])
	frame := benchClientFrame([]byte(`{"type":"publish","room":"room","data":{"text":"a hundred bytes of payload, more or less, in a chat room"},"id":"p"}`))
	buf := make([]byte, len(frame))
	publish := func() {
		copy(buf, frame) // the reader unmasks in place
		if r.consume(buf) {
			t.Fatal("the reader ended")
		}
		waitWritten(clients)
	}
	publish() // the first one grows the queues and the history
	got := testing.AllocsPerRun(runs, publish)
	if r.errors != 0 {
		t.Fatalf("%d publishes refused", r.errors)
	}
	return got
}
