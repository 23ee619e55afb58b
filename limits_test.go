package caddyrooms_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

func TestE2EMessageSizeLimit(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
		max_message_size 1KiB
	}
}`)
	big := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	other := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	big.Expect("presence")
	big.SendRaw(websocket.TextMessage, []byte(`{"type":"publish","room":"r","data":"`+strings.Repeat("x", 2000)+`"}`))
	big.ExpectClose(websocket.CloseMessageTooBig, "message over max_message_size")

	t.Log("nobody else is affected")
	if f := other.Expect("presence"); f.Str("event") != "leave" {
		t.Fatalf("presence: %v", f)
	}
	other.Send(map[string]any{"type": "publish", "room": "r", "data": strings.Repeat("y", 900)})
	other.Expect("message")
	other.Expect("ack")
}

func TestE2ERoomAndMemberLimits(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
		max_rooms 2
		max_members 2
	}
}`)
	a := wstest.Join(t, c.URL("ws")+"/ws/full", true)
	b := wstest.Join(t, c.URL("ws")+"/ws/full", true)
	a.Expect("presence")

	t.Log("max_rooms: the path room counts")
	b.Send(map[string]any{"type": "join", "room": "second", "id": "1"})
	b.Expect("joined")
	b.Send(map[string]any{"type": "join", "room": "third", "id": "2"})
	if f := b.ExpectError("too_many_rooms"); f.Str("id") != "2" {
		t.Fatalf("error: %v", f)
	}

	t.Log("max_members: a join by message is refused, the connection stays")
	x := wstest.Join(t, c.URL("ws")+"/ws/other", true)
	x.Send(map[string]any{"type": "join", "room": "full", "id": "3"})
	x.ExpectError("room_full")
	x.Send(map[string]any{"type": "publish", "room": "other", "data": 1})
	x.Expect("message")

	t.Log("max_members: a connection whose path room is full is told why and closed")
	y := wstest.Dial(t, c.URL("ws")+"/ws/full", nil)
	y.Expect("welcome")
	y.ExpectError("room_full")
	y.ExpectClose(websocket.ClosePolicyViolation, "cannot join full")
}

func TestE2ERateLimitAndFlood(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
		rate_limit 2 5
		max_errors 10
	}
}`)
	a := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	const flood = 40
	start := time.Now()
	for i := 0; i < flood; i++ {
		a.Send(map[string]any{"type": "publish", "room": "r", "data": i, "id": "f"})
	}
	var messages, limited int
	for {
		_, b, err := a.Read(wstest.Timeout)
		if err != nil {
			ce, ok := err.(*websocket.CloseError)
			if !ok || ce.Code != 4008 || ce.Text != "too many errors" {
				t.Fatalf("flood ended with %v, want close 4008 too many errors", err)
			}
			break
		}
		s := string(b)
		switch {
		case strings.Contains(s, `"type":"message"`):
			messages++
		case strings.Contains(s, `"code":"rate_limited"`):
			if !strings.Contains(s, `"id":"f"`) {
				t.Fatalf("rate_limited error without the frame's id: %s", s)
			}
			limited++
		}
	}
	// the burst of 5 passes, plus what the rate (2/s) refilled meanwhile;
	// then 10 refusals in a row close the connection (a refilled token in
	// between starts the count again)
	refilled := int(2*time.Since(start).Seconds()) + 1
	if messages < 5 || messages > 5+refilled || limited < 10 || limited > 10*(refilled+1) {
		t.Fatalf("%d messages, %d rate_limited errors; want 5 to %d, and 10 or more", messages, limited, 5+refilled)
	}
}

// TestE2ESlowClientIsCutOff: a client that stops reading, under
// slow_client disconnect, is cut off for its full queue, well before a
// write to it could time out (write_timeout 1m), and its close says so.
func TestE2ESlowClientIsCutOff(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
		send_queue 512KiB
		write_timeout 1m
	}
}`)
	slow := wstest.Join(t, c.URL("ws")+"/ws/r", true) // reads nothing until the end
	fast := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	payload := strings.Repeat("z", 16<<10)
	const n = 1000 // 16 MB, more than loopback buffers hold
	slowLeft := false
	start := time.Now()
	for i := 0; i < n && !slowLeft; i++ {
		fast.Send(map[string]any{"type": "publish", "room": "r", "data": payload})
		for got := false; !got; {
			f := fast.Next()
			switch {
			case f.Type() == "ack":
				got = true
			case f.Type() == "presence" && f.Str("event") == "leave" && f.Str("client") == slow.ID:
				slowLeft = true
			}
		}
	}
	if !slowLeft {
		t.Fatal("the slow client was never cut off")
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("cut off after %s: that is no full queue", took)
	}
	slow.ExpectClose(hub.ClosePolicy, "send queue full")
}

func TestE2EDropOldestPolicy(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
		send_queue 256KiB
		slow_client drop_oldest
		write_timeout 30s
	}
}`)
	slow := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	fast := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	slow.Expect("presence")
	payload := strings.Repeat("z", 16<<10)
	const n = 600
	for i := 0; i < n; i++ {
		fast.Send(map[string]any{"type": "publish", "room": "r", "data": payload})
		fast.Expect("message")
		fast.Expect("ack")
	}
	received, dropped := slow.ExpectDroppedOldest("r", n)
	if dropped == 0 || received+dropped != n {
		t.Fatalf("%d received + %d dropped, want %d with some dropped", received, dropped, n)
	}
}

func TestE2EPingAndPongTimeout(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
		ping_interval 200ms
		pong_timeout 300ms
	}
}`)
	watcher := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	pings := make(chan struct{}, 100)
	watcher.Conn.SetPingHandler(func(data string) error {
		pings <- struct{}{}
		return watcher.Conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	mute := wstest.Join(t, c.URL("ws")+"/ws/r", true) // reads nothing from now: never pongs
	if f := watcher.Expect("presence"); f.Str("event") != "join" {
		t.Fatalf("presence: %v", f)
	}
	start := time.Now()
	if f := watcher.Expect("presence"); f.Str("event") != "leave" || f.Str("client") != mute.ID {
		t.Fatalf("presence: %v", f)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the mute client was closed after %s", took)
	}
	mute.ExpectClose(hub.ClosePolicy, "pong timeout")
	if len(pings) < 1 {
		t.Fatalf("the watcher saw %d pings", len(pings))
	}
	t.Log("the watcher answers pings and stays connected")
	watcher.Send(map[string]any{"type": "publish", "room": "r", "data": "still here"})
	watcher.Expect("message")
}

// TestE2EWriteTimeout: under drop_oldest a client that stops reading is
// never cut off for its queue, but a write that cannot finish within
// write_timeout closes it, and the others see it leave.
func TestE2EWriteTimeout(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
		send_queue 512KiB
		slow_client drop_oldest
		write_timeout 1s
	}
}`)
	stalled := wstest.Join(t, c.URL("ws")+"/ws/r", true) // never reads again
	pub := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	payload := strings.Repeat("w", 32<<10)
	start := time.Now()
	for i := 0; ; i++ { // enough to fill the socket buffers, then some
		if time.Since(start) > 20*time.Second {
			t.Fatal("the stalled client was not closed within 20s")
		}
		pub.Send(map[string]any{"type": "publish", "room": "r", "data": payload})
		left := false
		for got := false; !got; {
			f := pub.Next()
			switch {
			case f.Type() == "ack":
				got = true
			case f.Type() == "presence" && f.Str("event") == "leave" && f.Str("client") == stalled.ID:
				left = true
			}
		}
		if left {
			t.Logf("closed after %d messages, %s", i+1, time.Since(start).Round(time.Millisecond))
			return
		}
	}
}
