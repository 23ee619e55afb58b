package caddyrooms_test

import (
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

func TestE2EReloadKeepsConnectionsRoomsAndSeq(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
		max_rooms 3
		ping_interval 200ms
		pong_timeout 10s
	}
}`)
	a := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	b := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	pinger := wstest.Join(t, c.URL("ws")+"/ws/p", true)
	a.Expect("presence")
	b.Send(map[string]any{"type": "join", "room": "extra", "id": "x"})
	b.Expect("joined")
	for i := 0; i < 3; i++ {
		a.Send(map[string]any{"type": "publish", "room": "r", "data": i})
		a.Expect("message")
		a.Expect("ack")
		b.Expect("message")
	}

	c.Reload(`:{PORT} {
	rooms /ws/* {
		room {path.1}
		max_rooms 5
		ping_interval 20s
		allow_join r extra x*
	}
	respond /health "ok"
}`)
	resp, err := testcaddy.Get(c.URL("http") + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the new config is not live: %v %v", resp, err)
	}
	resp.Body.Close()

	t.Log("same connections, same rooms, seq goes on")
	a.Send(map[string]any{"type": "publish", "room": "r", "data": "after reload"})
	for _, cl := range []*wstest.Client{a, b} {
		if f := cl.Expect("message"); f.Num("seq") != 4 || f.Str("data") != "after reload" {
			t.Fatalf("after reload: %v", f)
		}
	}
	a.Expect("ack")
	b.Send(map[string]any{"type": "publish", "room": "extra", "data": 1})
	if f := b.Expect("message"); f.Num("seq") != 1 {
		t.Fatalf("the room joined by message is gone: %v", f)
	}
	b.Expect("ack")

	t.Log("an old connection keeps the old rules (any room) and limits (max_rooms 3)")
	b.Send(map[string]any{"type": "join", "room": "third", "id": "3"})
	b.Expect("joined")
	b.Send(map[string]any{"type": "join", "room": "x1", "id": "4"})
	b.ExpectError("too_many_rooms")

	t.Log("a new connection after the reload joins the same room, under the new rules and limits")
	n := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	a.Expect("presence")
	n.Send(map[string]any{"type": "publish", "room": "r", "data": "new"})
	if f := a.Expect("message"); f.Num("seq") != 5 {
		t.Fatalf("new member's message: %v", f)
	}
	n.Expect("message")
	n.Expect("ack")
	n.Send(map[string]any{"type": "join", "room": "third"})
	n.ExpectError("forbidden")
	for _, room := range []string{"extra", "x1", "x2", "x3"} { // 5 rooms with r
		n.Send(map[string]any{"type": "join", "room": room})
		n.ExpectSkipping("joined", "presence")
	}
	n.Send(map[string]any{"type": "join", "room": "x4"})
	n.ExpectSkipping("error", "presence")

	t.Log("the old connection is pinged every 200ms, a new one not within 1s (20s)")
	pingCounts := map[string]int{}
	for _, cl := range []*wstest.Client{pinger, wstest.Join(t, c.URL("ws")+"/ws/x9", true)} {
		conn, name := cl.Conn, cl.ID
		conn.SetPingHandler(func(data string) error {
			pingCounts[name]++
			return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		cl.ExpectSilence(1200 * time.Millisecond)
	}
	if old, fresh := pingCounts[pinger.ID], len(pingCounts)-1; old < 3 || fresh != 0 {
		t.Fatalf("pings in 1.2s: old connection %d (want 3 or more), new connection %v", old, pingCounts)
	}
}

// TestE2EStopClosesWith1001: every way of ending a hub's life closes its
// connections with 1001 "server stopping": `caddy stop`, SIGINT, SIGTERM,
// and a reload to a config that has no route of that hub any more (while
// the routes of other hubs keep their connections).
func TestE2EStopClosesWith1001(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		stop func(c *testcaddy.Caddy) (wait func())
	}{
		{"caddy stop", func(c *testcaddy.Caddy) func() { return c.StopAsync() }},
		{"SIGINT", func(c *testcaddy.Caddy) func() { c.Signal(syscall.SIGINT); return c.WaitExit }},
		{"SIGTERM", func(c *testcaddy.Caddy) func() { c.Signal(syscall.SIGTERM); return c.WaitExit }},
		{"reload without the hub", func(c *testcaddy.Caddy) func() {
			c.Reload(`:{PORT} {
	rooms /other/* {
		room {path.1}
		hub other
	}
}`)
			return func() {}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
	}
	rooms /other/* {
		room {path.1}
		hub other
	}
}`)
			clients := []*wstest.Client{
				wstest.Join(t, c.URL("ws")+"/ws/a", true),
				wstest.Join(t, c.URL("ws")+"/ws/a", true),
				wstest.Join(t, c.URL("ws")+"/ws/b", true),
			}
			other := wstest.Join(t, c.URL("ws")+"/other/o", true)
			clients[0].Expect("presence")
			wait := tc.stop(c)
			for _, cl := range clients {
				cl.ExpectClose(hub.CloseGoingAway, "server stopping")
			}
			wait()
			if tc.name != "reload without the hub" {
				if !c.Exited() {
					t.Fatal("caddy still runs")
				}
				return
			}
			t.Log("the other hub's connection stays")
			other.Send(map[string]any{"type": "publish", "room": "o", "data": 1})
			other.Expect("message")
			other.Expect("ack")
		})
	}
}

// TestE2EHijackedOutlivesServerTimeouts: once upgraded, an HTTP/1.1
// WebSocket lives by the route's ping and pong timeouts, not by the
// server's request timeouts, though the request that upgraded it is over.
func TestE2EHijackedOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `{
	admin 127.0.0.1:{ADMIN}
	auto_https off
	servers {
		timeouts {
			read_body 1s
			read_header 1s
			write 1s
			idle 1s
		}
	}
}
:{PORT} {
	rooms /ws/* {
		room {path.1}
		ping_interval 700ms
		pong_timeout 1s
	}
}`)
	a := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	b := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	a.Expect("presence")
	var pings atomic.Int32
	frames := make(chan string, 16)
	for _, cl := range []*wstest.Client{a, b} {
		conn := cl.Conn
		conn.SetPingHandler(func(data string) error {
			pings.Add(1)
			return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		})
		go func() { // read, so that pings are answered, with no deadline
			for {
				_, msg, err := conn.ReadMessage()
				if err != nil {
					frames <- "ended: " + err.Error()
					return
				}
				frames <- string(msg)
			}
		}()
	}
	select {
	case f := <-frames:
		t.Fatalf("during the quiet 4 s: %s", f)
	case <-time.After(4 * time.Second):
	}
	if pings.Load() < 4 {
		t.Fatalf("%d pings in 4 s at ping_interval 700ms", pings.Load())
	}
	if err := a.Conn.WriteJSON(map[string]any{"type": "publish", "room": "r", "data": "still here"}); err != nil {
		t.Fatal(err)
	}
	for got := 0; got < 3; got++ { // the message to a and b, a's ack
		select {
		case f := <-frames:
			if !strings.Contains(f, `"still here"`) && !strings.Contains(f, `"type":"ack"`) {
				t.Fatalf("after 4 s: %s", f)
			}
		case <-time.After(wstest.Timeout):
			t.Fatal("no message after 4 s")
		}
	}
}
