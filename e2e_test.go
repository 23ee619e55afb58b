package caddyrooms_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// site is the Caddyfile most end-to-end tests run: /ws/ROOM joins ROOM on
// connect, /free joins nothing, and anything else gets a plain response.
const site = `:{PORT} {
	route /ws/* {
		rooms {
			room {path.1}
			user {query.name}
		}
	}
	rooms /free
	respond "not a websocket"
}`

func TestE2EProtocol(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, site)
	a := wstest.Dial(t, c.URL("ws")+"/ws/lobby?name=ann", nil)
	w := a.Expect("welcome")
	if w.Str("client") == "" || w.Str("user") != "ann" {
		t.Fatalf("welcome: %v", w)
	}
	a.ID = w.Str("client")
	if f := a.Expect("joined"); f.Str("room") != "lobby" || f.Num("members") != 1 {
		t.Fatalf("joined: %v", f)
	}
	b := wstest.Dial(t, c.URL("ws")+"/free", nil)
	wb := b.Expect("welcome")
	if _, has := wb["user"]; has {
		t.Fatalf("welcome of a connection with no identity has a user: %v", wb)
	}
	b.ID = wb.Str("client")

	t.Log("join by message, several rooms per connection")
	for i, room := range []string{"lobby", "side"} {
		b.Send(map[string]any{"type": "join", "room": room, "id": fmt.Sprint(i)})
		if f := b.Expect("joined"); f.Str("room") != room || f.Str("id") != fmt.Sprint(i) {
			t.Fatalf("joined: %v", f)
		}
	}
	if f := a.Expect("presence"); f.Str("event") != "join" || f.Str("client") != b.ID || f.Num("members") != 2 || f.Str("room") != "lobby" {
		t.Fatalf("presence: %v", f)
	}

	t.Log("publish: every member, sender included, same seq; ack to the sender")
	for seq := 1; seq <= 3; seq++ {
		a.Send(map[string]any{"type": "publish", "room": "lobby", "data": map[string]any{"n": seq}, "id": "p"})
		for _, cl := range []*wstest.Client{a, b} {
			f := cl.Expect("message")
			if f.Num("seq") != int64(seq) || f.Str("from") != a.ID || f.Str("room") != "lobby" {
				t.Fatalf("message: %v", f)
			}
		}
		if f := a.Expect("ack"); f.Num("seq") != int64(seq) || f.Str("id") != "p" {
			t.Fatalf("ack: %v", f)
		}
	}
	b.Send(map[string]any{"type": "publish", "room": "side", "data": "only b"})
	if f := b.Expect("message"); f.Num("seq") != 1 || f.Str("room") != "side" {
		t.Fatalf("side room has its own seq: %v", f)
	}
	b.Expect("ack")

	t.Log("not a member")
	a.Send(map[string]any{"type": "publish", "room": "side", "data": 1, "id": "nm"})
	if f := a.ExpectError("not_member"); f.Str("id") != "nm" {
		t.Fatalf("error without its id: %v", f)
	}

	t.Log("bad input is answered and the connection stays open")
	bad := []struct {
		op    int
		frame string
		code  string
	}{
		{websocket.TextMessage, `not json`, "bad_json"},
		{websocket.BinaryMessage, `{"type":"join","room":"x"}`, "binary_frame"},
		{websocket.TextMessage, `{"type":"shout","room":"lobby"}`, "unknown_type"},
		{websocket.TextMessage, `{"type":"join"}`, "missing_room"},
		{websocket.TextMessage, `{"type":"publish","data":1}`, "missing_room"},
	}
	for _, tc := range bad {
		a.SendRaw(tc.op, []byte(tc.frame))
		a.ExpectError(tc.code)
	}

	t.Log("leave, and presence leave for the others; none about oneself")
	b.Send(map[string]any{"type": "leave", "room": "lobby", "id": "l"})
	if f := b.Expect("left"); f.Str("room") != "lobby" || f.Str("id") != "l" {
		t.Fatalf("left: %v", f)
	}
	if f := a.Expect("presence"); f.Str("event") != "leave" || f.Str("client") != b.ID || f.Num("members") != 1 {
		t.Fatalf("presence: %v", f)
	}
	a.Send(map[string]any{"type": "publish", "room": "lobby", "data": "after"})
	a.Expect("message")
	a.Expect("ack")
	b.ExpectSilence(300 * time.Millisecond) // b left: nothing from lobby

	t.Log("disconnect sends presence leave with the user")
	d := wstest.Dial(t, c.URL("ws")+"/ws/lobby?name=dan", nil)
	d.Expect("welcome")
	d.Expect("joined")
	if f := a.Expect("presence"); f.Str("user") != "dan" || f.Str("event") != "join" {
		t.Fatalf("presence: %v", f)
	}
	d.Conn.Close()
	if f := a.Expect("presence"); f.Str("user") != "dan" || f.Str("event") != "leave" {
		t.Fatalf("presence: %v", f)
	}
}

func TestE2ENonWebSocketPassesOn(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, site)
	for _, path := range []string{"/ws/lobby", "/free"} {
		resp, err := testcaddy.Get(c.URL("http") + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "not a websocket" {
			t.Fatalf("%s: %d %q", path, resp.StatusCode, body)
		}
	}
}

func TestE2ERaw(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /raw/* {
		room {path.1}
		protocol raw
	}
	rooms /ws/* {
		room {path.1}
	}
}`)
	a := wstest.Dial(t, c.URL("ws")+"/raw/r", nil)
	b := wstest.Dial(t, c.URL("ws")+"/raw/r", nil)
	j := wstest.Join(t, c.URL("ws")+"/ws/r", true) // a json member of the same room

	frames := []struct {
		op       int
		data     string
		jsonData any // what the json member sees as "data"
	}{
		{websocket.TextMessage, "plain text, not JSON", "plain text, not JSON"},
		{websocket.BinaryMessage, "\x01\x02binary", "\x01\x02binary"},
		{websocket.TextMessage, `{"a":1}`, map[string]any{"a": float64(1)}},
	}
	for i, f := range frames {
		a.SendRaw(f.op, []byte(f.data))
		op, got, err := b.Read(wstest.Timeout)
		if err != nil || op != f.op || string(got) != f.data {
			t.Fatalf("frame %d: got %d %q %v, want %d %q", i, op, got, err, f.op, f.data)
		}
		m := j.ExpectSkipping("message", "presence")
		if m.Num("seq") != int64(i+1) || fmt.Sprint(m["data"]) != fmt.Sprint(f.jsonData) {
			t.Fatalf("json member got %v, want data %v", m, f.jsonData)
		}
	}
	t.Log("the json member publishes: raw members get the data as a text frame")
	j.Send(map[string]any{"type": "publish", "room": "r", "data": map[string]any{"from": "json"}})
	for _, cl := range []*wstest.Client{a, b} {
		op, got, err := cl.Read(wstest.Timeout)
		if err != nil || op != websocket.TextMessage || string(got) != `{"from":"json"}` {
			t.Fatalf("raw member got %d %q %v", op, got, err)
		}
	}
	// the sender never gets its own frames back, and the server sends a raw
	// client nothing of its own: no welcome, no presence (j joined, b sent)
	a.ExpectSilence(300 * time.Millisecond)
}
