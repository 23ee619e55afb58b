//go:build linux && !race

package hub

import "testing"

// TestInlineHotPathAllocations is TestHotPathAllocations for members the
// poller reads, which the publisher writes inline (inline_write.go): the
// same bounds, so the inline path allocates nothing per delivery either.
func TestInlineHotPathAllocations(t *testing.T) {
	for _, members := range []int{10, 200} {
		_, clients, fars := polledRoom(t, members, allocConfig)
		for _, far := range fars {
			go discard(far)
		}
		got := clientPublishAllocs(t, clients, 200)
		bound := maxAllocsPerPublish + maxAllocsPerDelivery*float64(members)
		t.Logf("%.1f allocations per publish to %d members (%.3f per delivery); bound %.1f",
			got, members, got/float64(members), bound)
		if got > bound {
			t.Errorf("a publish to %d polled members allocated %.1f times, more than %.1f", members, got, bound)
		}
	}
}
