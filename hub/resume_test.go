package hub_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// joinAt joins room with a since position or a last count (nil, 0: a
// plain join) and returns `joined`.
func joinAt(t *testing.T, c *wstest.Client, room string, since *hub.Position, last int) wstest.Frame {
	t.Helper()
	msg := map[string]any{"type": "join", "room": room, "id": "j"}
	if since != nil {
		msg["since"] = since
	}
	if last > 0 {
		msg["last"] = last
	}
	c.Send(msg)
	return c.Expect("joined")
}

// expectSeqs reads `message` frames and fails unless their seqs are want.
func expectSeqs(t *testing.T, c *wstest.Client, want ...int64) {
	t.Helper()
	for _, seq := range want {
		if f := c.Expect("message"); f.Num("seq") != seq {
			t.Fatalf("message %v; want seq %d", f, seq)
		}
	}
}

func TestResumeAnswers(t *testing.T) {
	s := newServer(t, hub.Config{HistorySize: 3}, readMode{})
	holder := wstest.Join(t, s.url("/q"), true) // keeps the room
	_ = holder
	first := joinAt(t, wstest.Join(t, s.url("/"), false), "q", nil, 0)
	epoch := first.Str("epoch")
	if epoch == "" || first.Num("seq") != 0 {
		t.Fatalf("first joined: %v", first)
	}
	for _, tc := range []struct {
		name      string
		since     func(last uint64) *hub.Position
		last      int
		recovered any // true, false or nil (absent)
		reason    string
		replay    int // how many messages before the live one
	}{
		{"quiet", func(n uint64) *hub.Position { return &hub.Position{Epoch: epoch, Seq: n} }, 0, true, "", 0},
		{"missed two", func(n uint64) *hub.Position { return &hub.Position{Epoch: epoch, Seq: n - 2} }, 0, true, "", 2},
		{"missed all kept", func(n uint64) *hub.Position { return &hub.Position{Epoch: epoch, Seq: n - 3} }, 0, true, "", 3},
		{"too old", func(n uint64) *hub.Position { return &hub.Position{Epoch: epoch, Seq: n - 4} }, 0, false, hub.ReasonTooOld, 0},
		{"ahead of the room", func(n uint64) *hub.Position { return &hub.Position{Epoch: epoch, Seq: n + 1} }, 0, false, hub.ReasonTooOld, 0},
		{"epoch changed", func(n uint64) *hub.Position { return &hub.Position{Epoch: "other", Seq: n} }, 0, false, hub.ReasonEpochChanged, 0},
		{"no since", func(uint64) *hub.Position { return nil }, 0, nil, "", 0},
		{"last two", func(uint64) *hub.Position { return nil }, 2, nil, "", 2},
		{"last more than kept", func(uint64) *hub.Position { return nil }, 50, nil, "", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 5 {
				s.hub.Publish("q", json.RawMessage(`"before"`))
			}
			d, _, _ := s.hub.Room("q")
			c := wstest.Join(t, s.url("/"), false)
			j := joinAt(t, c, "q", tc.since(d.Seq), tc.last)
			if j.Str("epoch") != epoch || uint64(j.Num("seq")) != d.Seq || j["recovered"] != tc.recovered || j.Str("reason") != tc.reason {
				t.Fatalf("joined %v; want epoch %s seq %d recovered %v reason %q", j, epoch, d.Seq, tc.recovered, tc.reason)
			}
			for i := tc.replay; i > 0; i-- {
				expectSeqs(t, c, int64(d.Seq)-int64(i)+1)
			}
			s.hub.Publish("q", json.RawMessage(`"live"`)) // a former member's leave may come first
			if f := c.ExpectSkipping("message", "presence"); uint64(f.Num("seq")) != d.Seq+1 || f.Str("data") != "live" {
				t.Fatalf("after the replay: %v; want the live message %d", f, d.Seq+1)
			}
		})
	}
}

func TestRoomOutlivesItsMembers(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{}, o)
		c := wstest.Join(t, s.url("/"), false)
		j := joinAt(t, c, "r", nil, 0)
		for i := range 2 {
			c.Send(map[string]any{"type": "publish", "room": "r", "data": i})
			c.Expect("message")
			c.Expect("ack")
		}
		c.Send(map[string]any{"type": "leave", "room": "r"})
		c.Expect("left")
		if _, listed, _ := s.hub.Room("r"); listed {
			t.Fatal("an empty room is still listed")
		}
		page, ok, _ := s.hub.History("r", 0, 0)
		if !ok || page.Seq != 2 || len(page.Messages) != 2 || page.Messages[1].From != c.ID || string(page.Messages[1].Data) != "1" {
			t.Fatalf("history of the empty room: %+v %v", page, ok)
		}
		again := joinAt(t, c, "r", &hub.Position{Epoch: j.Str("epoch"), Seq: 1}, 0)
		if again.Str("epoch") != j.Str("epoch") || again.Num("seq") != 2 || again["recovered"] != true {
			t.Fatalf("rejoined: %v", again)
		}
		expectSeqs(t, c, 2)
		if _, ok, _ := s.hub.History("nowhere", 0, 0); ok {
			t.Fatal("history of a room that never was")
		}
	})
}

func TestIdempotentPublish(t *testing.T) {
	s := newServer(t, hub.Config{}, readMode{})
	c := wstest.Join(t, s.url("/r"), true)
	other := wstest.Join(t, s.url("/r"), true)
	c.Expect("presence") // other joined
	pub := map[string]any{"type": "publish", "room": "r", "data": "once", "key": "k1", "id": "p"}
	c.Send(pub)
	c.Expect("message")
	first := c.Expect("ack")
	c.Send(pub)
	again := c.Expect("ack")
	if again.Num("seq") != first.Num("seq") || again["duplicate"] != true || first["duplicate"] != nil {
		t.Fatalf("acks %v then %v", first, again)
	}
	p1, ok, err := s.hub.PublishKeyed("r", json.RawMessage(`"server"`), "k2")
	p2, _, _ := s.hub.PublishKeyed("r", json.RawMessage(`"server"`), "k2")
	if !ok || err != nil || p2.Seq != p1.Seq || p2.Delivered != p1.Delivered || !p2.Duplicate || p1.Duplicate {
		t.Fatalf("server publishes %+v then %+v (%v %v)", p1, p2, ok, err)
	}
	expectSeqs(t, other, first.Num("seq"), int64(p1.Seq)) // each once
	c.Send(map[string]any{"type": "publish", "room": "r", "data": 1, "key": string(make([]byte, hub.MaxKey+1))})
	if e := c.ExpectSkipping("error", "message"); e.Str("code") != hub.CodeInvalidKey {
		t.Fatalf("long key: %v", e)
	}
	c.Conn.Close()
	other.Conn.Close()
	waitNoRoom(t, s, "r")
	p3, ok, _ := s.hub.PublishKeyed("r", json.RawMessage(`"server"`), "k2")
	if !ok || p3 != p2 {
		t.Fatalf("repeat into the empty room: %+v %v; want %+v", p3, ok, p2)
	}
}

func waitNoRoom(t *testing.T, s *server, room string) {
	t.Helper()
	deadline := time.Now().Add(wstest.Timeout)
	for {
		if _, ok, _ := s.hub.Room(room); !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s still has members", room)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A member drops mid-stream while several publishers keep publishing; it
// resumes on a new connection and sees every message once, in order, the
// replay then the live ones.
func TestResumeUnderConcurrentPublishers(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{SendQueue: 16 << 20, HistorySize: 10000}, o)
		const publishers, each = 3, 150
		a := wstest.Join(t, s.url("/"), false)
		epoch := joinAt(t, a, "r", nil, 0).Str("epoch")
		var wg sync.WaitGroup
		for i := range publishers {
			p := wstest.Join(t, s.url("/r"), true)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range each {
					_ = p.Conn.WriteJSON(map[string]any{"type": "publish", "room": "r", "data": fmt.Sprintf("%d-%d", i, j)})
					time.Sleep(time.Millisecond)
				}
			}()
		}
		last := readSeqs(t, a, 0, 40)
		_ = a.Conn.NetConn().Close() // no close frame
		b := wstest.Join(t, s.url("/"), false)
		j := joinAt(t, b, "r", &hub.Position{Epoch: epoch, Seq: last}, 0)
		if j["recovered"] != true {
			t.Fatalf("resume: %v", j)
		}
		readSeqs(t, b, last, publishers*each-int(last))
		wg.Wait()
	})
}

// readSeqs reads n messages, which must be numbered after+1, after+2, ...
// (presence frames skipped), and returns the last seq.
func readSeqs(t *testing.T, c *wstest.Client, after uint64, n int) uint64 {
	t.Helper()
	for range n {
		f := c.ExpectSkipping("message", "presence")
		if uint64(f.Num("seq")) != after+1 {
			t.Fatalf("seq %d after %d", f.Num("seq"), after)
		}
		after++
	}
	return after
}
