package hub_test

import (
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// A room that crosses presence_list both ways: one presence frame per
// change while small, batches while big, and what a batch gathered goes
// out before the room is small again; a join and leave in one batch cancel.
func TestPresenceAcrossTheThreshold(t *testing.T) {
	eachReadMode(t, func(t *testing.T, m readMode) {
		s := newServer(t, hub.Config{PresenceList: 2, PresenceInterval: 300 * time.Millisecond}, m)
		join := func(user string) *wstest.Client {
			c := wstest.Join(t, s.url("/?user="+user), false)
			c.Send(map[string]any{"type": "join", "room": "x"})
			c.Expect("joined")
			return c
		}
		leave := func(c *wstest.Client) {
			c.Send(map[string]any{"type": "leave", "room": "x"})
			c.ExpectSkipping("left", "presence", "presence_diff")
		}
		a := join("ann")
		b := join("bob")
		if f := a.Expect("presence"); f.Str("client") != b.ID || f.Num("members") != 2 {
			t.Fatalf("small room: %v", f)
		}
		c := join("cy") // the room turns big: the first change goes out at once
		if f := a.Expect("presence_diff"); f.Num("members") != 3 || f.Num("users") != 3 || len(f["joins"].([]any)) != 1 {
			t.Fatalf("first batch: %v", f)
		}
		d := join("dee") // batched, then cancelled by its leave
		leave(d)
		leave(c) // small again: a presence frame, the empty batch is not sent
		if f := a.Expect("presence"); f.Str("event") != "leave" || f.Str("client") != c.ID || f.Num("members") != 2 {
			t.Fatalf("small again: %v", f)
		}
		a.ExpectSilence(500 * time.Millisecond)
		if f := b.ExpectSkipping("presence", "presence_diff"); f.Str("client") != c.ID {
			t.Fatalf("bob: %v", f)
		}
	})
}
