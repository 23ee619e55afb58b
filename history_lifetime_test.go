package caddyrooms_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// A room keeps its epoch, seq and history across `caddy reload`, also
// while it has no members; after a restart its epoch differs, and a
// resume from before answers epoch_changed.
func TestE2EHistoryAcrossReloadAndRestart(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, histSite)
	a := wstest.Join(t, c.URL("ws")+"/free", false)
	epoch := histJoin(t, a, "r", nil, 0).Str("epoch")
	for i := range 3 {
		a.Send(map[string]any{"type": "publish", "room": "r", "data": i})
		a.Expect("message")
		a.Expect("ack")
	}
	a.Conn.Close() // the room has no members through the reload

	c.Reload(strings.Replace(histSite, "send_queue 16MiB", "send_queue 8MiB", 1))
	b := wstest.Join(t, c.URL("ws")+"/free", false)
	if j := histJoin(t, b, "r", map[string]any{"epoch": epoch, "seq": 1}, 0); j["recovered"] != true || j.Str("epoch") != epoch || j.Num("seq") != 3 {
		t.Fatalf("resume after reload: %v", j)
	}
	histRead(t, b, 1, 2)
	var page struct {
		Epoch    string `json:"epoch"`
		Seq      int    `json:"seq"`
		Messages []struct {
			Seq  int             `json:"seq"`
			From string          `json:"from"`
			Data json.RawMessage `json:"data"`
		} `json:"messages"`
	}
	admExpect(t, c, "GET", "/rooms/r/messages?since=1", "", 200, "").JSON(t, &page)
	if page.Epoch != epoch || page.Seq != 3 || len(page.Messages) != 2 || string(page.Messages[1].Data) != "2" || page.Messages[1].From != a.ID {
		t.Fatalf("messages after reload: %+v", page)
	}

	c.Restart()
	n := wstest.Join(t, c.URL("ws")+"/free", false)
	j := histJoin(t, n, "r", map[string]any{"epoch": epoch, "seq": 3}, 0)
	if j["recovered"] != false || j.Str("reason") != "epoch_changed" || j.Str("epoch") == epoch || j.Num("seq") != 0 {
		t.Fatalf("resume after a restart: %v", j)
	}
	n.ExpectSilence(200 * time.Millisecond)
}

// The admin API's GET /rooms/{room}/messages and `caddy rooms history`:
// the room's position and kept messages, oldest first, since and limit;
// 404 for a room with neither members nor history; bad parameters 400.
func TestE2EHistoryEndpointAndCommand(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, histSite)
	m := wstest.Join(t, c.URL("ws")+"/ws/h", true)
	for i := 1; i <= 4; i++ {
		admExpect(t, c, "POST", "/rooms/h/messages", `{"n":`+string(rune('0'+i))+`}`, 200, "")
	}
	m.Send(map[string]any{"type": "publish", "room": "h", "data": "from a member"})
	histRead(t, m, 0, 5)
	var page struct {
		Room     string `json:"room"`
		Seq      int    `json:"seq"`
		Messages []map[string]any
	}
	admExpect(t, c, "GET", "/rooms/h/messages?since=2&limit=2", "", 200, "").JSON(t, &page)
	if page.Room != "h" || page.Seq != 5 || len(page.Messages) != 2 || page.Messages[0]["seq"] != 3.0 {
		t.Fatalf("since 2 limit 2: %+v", page)
	}
	if _, has := page.Messages[0]["from"]; has {
		t.Fatalf("a server message has a from: %v", page.Messages[0])
	}
	admExpect(t, c, "GET", "/rooms/nothing/messages", "", 404, "neither members nor history")
	admExpect(t, c, "GET", "/rooms/h/messages?since=x", "", 400, "since")
	admExpect(t, c, "GET", "/rooms/h/messages?limit=0", "", 400, "limit")

	addr := "--address=127.0.0.1:" + strings.TrimPrefix(c.AdminURL(), "http://127.0.0.1:")
	out := cmdRooms(t, "", "history", "h", "--since", "3", "--limit", "5", addr).ok(t)
	for _, want := range []string{"seq 5, 2 messages shown", `{"n":4}`, "from a member", m.ID} {
		if !strings.Contains(out, want) {
			t.Fatalf("caddy rooms history lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `{"n":3}`) {
		t.Fatalf("--since 3 shows message 3:\n%s", out)
	}
	cmdRooms(t, "", "history", "nothing", addr).fails(t, "neither members nor history")
}

// A late joiner asks for the room's recent messages: by a join's last,
// and by the handshake's rooms_last for the route's room.
func TestE2ELateJoiner(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, histSite)
	m := wstest.Join(t, c.URL("ws")+"/ws/late", true)
	for i := 1; i <= 5; i++ {
		m.Send(map[string]any{"type": "publish", "room": "late", "data": i})
	}
	histRead(t, m, 0, 5)
	j := wstest.Join(t, c.URL("ws")+"/free", false)
	if f := histJoin(t, j, "late", nil, 2); f.Num("seq") != 5 {
		t.Fatalf("joined: %v", f)
	}
	histRead(t, j, 3, 2)
	p := wstest.Dial(t, c.URL("ws")+"/ws/late?rooms_last=3", nil)
	p.Expect("welcome")
	p.Expect("joined")
	histRead(t, p, 2, 3)
	if _, r, err := wstest.TryDial(c.URL("ws")+"/ws/late?rooms_since=nocolon", nil); err == nil || r == nil || r.StatusCode != 400 {
		t.Fatalf("a malformed rooms_since: %v %v", r, err)
	}
}
