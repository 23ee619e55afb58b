package caddyrooms_test

import (
	"testing"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

func TestE2EReloadKeepsConnectionsRoomsAndSeq(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
	}
}`)
	a := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	b := wstest.Join(t, c.URL("ws")+"/ws/r", true)
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

	t.Log("a new connection after the reload joins the same room")
	n := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	a.Expect("presence")
	n.Send(map[string]any{"type": "publish", "room": "r", "data": "new"})
	if f := a.Expect("message"); f.Num("seq") != 5 {
		t.Fatalf("new member's message: %v", f)
	}
}

func TestE2EStopClosesWith1001(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
	}
}`)
	clients := []*wstest.Client{
		wstest.Join(t, c.URL("ws")+"/ws/a", true),
		wstest.Join(t, c.URL("ws")+"/ws/a", true),
		wstest.Join(t, c.URL("ws")+"/ws/b", true),
	}
	clients[0].Expect("presence")
	done := make(chan struct{})
	go func() { defer close(done); c.Stop() }()
	for _, cl := range clients {
		cl.ExpectClose(websocket.CloseGoingAway)
	}
	<-done
	if !c.Exited() {
		t.Fatal("caddy still runs")
	}
}
