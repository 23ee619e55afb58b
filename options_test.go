package caddyrooms_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// optionsSite has a route for each option under test: /quiet/ROOM with
// presence off beside /ws/ROOM with it on, /patient with max_errors -1,
// and /q, whose room comes from the query.
const optionsSite = `:{PORT} {
	rooms /ws/* {
		room {path.1}
	}
	rooms /quiet/* {
		room {path.1}
		presence off
	}
	rooms /patient {
		max_errors -1
	}
	rooms /q {
		room {query.room}
	}
}`

// TestE2EPresenceOff: a route with presence off sends its connections no
// presence event, at join, leave or disconnect, while the other members of
// the same room, on a route with presence on, still get theirs.
func TestE2EPresenceOff(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, optionsSite)
	quiet := wstest.Join(t, c.URL("ws")+"/quiet/r", true)
	loud := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	other := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	if f := loud.Expect("presence"); f.Str("event") != "join" || f.Str("client") != other.ID {
		t.Fatalf("presence on: %v", f)
	}
	other.Send(map[string]any{"type": "leave", "room": "r"})
	other.Expect("left")
	if f := loud.Expect("presence"); f.Str("event") != "leave" || f.Str("client") != other.ID {
		t.Fatalf("presence on: %v", f)
	}
	loud.Send(map[string]any{"type": "publish", "room": "r", "data": "hi"})
	// the first frame the quiet member gets is the message: no presence
	// of the two joins and the leave before it
	if f := quiet.Next(); f.Type() != "message" || f.Str("data") != "hi" {
		t.Fatalf("presence off: got %v, want the message first", f)
	}
}

// TestE2EMaxErrorsNever: with max_errors -1, refusals in a row never close
// the connection: each gets its error, and it still works afterwards.
func TestE2EMaxErrorsNever(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, optionsSite)
	cl := wstest.Join(t, c.URL("ws")+"/patient", false)
	const n = 50 // more than the default of 20
	for i := 0; i < n; i++ {
		cl.SendRaw(websocket.TextMessage, []byte("not json"))
		cl.ExpectError("bad_json")
	}
	cl.Send(map[string]any{"type": "join", "room": "still-here", "id": "j"})
	if f := cl.Expect("joined"); f.Str("room") != "still-here" {
		t.Fatalf("after %d errors: %v", n, f)
	}
}

// TestE2EEmptyRoomTemplate: a room template that comes out empty answers
// HTTP 400, with no upgrade; one that does not joins its room.
func TestE2EEmptyRoomTemplate(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, optionsSite)
	for _, path := range []string{"/q", "/q?room="} {
		_, resp, err := wstest.TryDial(c.URL("ws")+path, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Fatalf("%s: %v, HTTP %d; want HTTP 400", path, err, status)
		}
	}
	cl := wstest.Dial(t, c.URL("ws")+"/q?room=lobby", nil)
	cl.ExpectWelcome("lobby")
}

// TestE2EJoinTwice: joining a room one is already in answers joined again
// and changes nothing: same member count, no presence to the others.
func TestE2EJoinTwice(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, optionsSite)
	a := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	b := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	a.Expect("presence")
	for _, room := range []string{"r", "r"} { // the path room, twice over
		b.Send(map[string]any{"type": "join", "room": room, "id": "again"})
		if f := b.Expect("joined"); f.Str("room") != "r" || f.Num("members") != 2 || f.Str("id") != "again" {
			t.Fatalf("join again: %v, want joined r with 2 members", f)
		}
	}
	resp, err := testcaddy.Get(c.AdminURL() + "/rooms/r")
	if err != nil {
		t.Fatal(err)
	}
	var room struct{ Members int }
	err = json.NewDecoder(resp.Body).Decode(&room)
	resp.Body.Close()
	if err != nil || room.Members != 2 {
		t.Fatalf("admin API: room r has %d members (%v), want 2", room.Members, err)
	}
	b.Send(map[string]any{"type": "publish", "room": "r", "data": "once"})
	// a's next frame is b's message, once: no presence of b joining again
	if f := a.Next(); f.Type() != "message" || f.Str("data") != "once" {
		t.Fatalf("a got %v, want the message", f)
	}
	b.Expect("message")
	b.Expect("ack")
	a.ExpectSilence(200 * time.Millisecond) // and only once
}

// TestE2ECloseEchoesTheCode: the server answers a client's close frame with
// the client's own code, whatever it is, and 1000 when it sent none.
func TestE2ECloseEchoesTheCode(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, optionsSite)
	for _, tc := range []struct {
		send, want int
	}{
		{websocket.CloseNormalClosure, websocket.CloseNormalClosure},
		{websocket.CloseGoingAway, websocket.CloseGoingAway},
		{3000, 3000},
		{4321, 4321},
		{websocket.CloseNoStatusReceived, websocket.CloseNormalClosure}, // no code in the frame
	} {
		cl := wstest.Join(t, c.URL("ws")+"/ws/r", true)
		if tc.send == websocket.CloseNoStatusReceived {
			if err := cl.Conn.WriteControl(websocket.CloseMessage, nil, time.Now().Add(wstest.Timeout)); err != nil {
				t.Fatal(err)
			}
		} else {
			cl.SendClose(tc.send, "bye")
		}
		cl.ExpectClose(tc.want, "")
	}
}
