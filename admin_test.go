package caddyrooms_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// admSite has path rooms on /ws/{room} (with ?user=), a route without a
// room on /free, and a second hub, "other", on /other/{room} whose
// max_message_size ({OTHER_MAX}) is the admin API's publish limit there.
const admSite = `:{PORT} {
	rooms /ws/* {
		room {path.1}
		user {query.user}
	}
	rooms /free
	rooms /other/* {
		room {path.1}
		hub other
		max_message_size {OTHER_MAX}
	}
}
`

func admConfig(otherMax string) string {
	return strings.ReplaceAll(admSite, "{OTHER_MAX}", otherMax)
}

// admAnswer is an admin API response.
type admAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (a admAnswer) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Body, v); err != nil {
		t.Fatalf("answer %d %q is not JSON: %v", a.Status, a.Body, err)
	}
}

// admDo sends one request to the admin endpoint, bounded by 10 s.
func admDo(t *testing.T, c *testcaddy.Caddy, method, path, body string) admAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.AdminURL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	cl := http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading: %v", method, path, err)
	}
	return admAnswer{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// admExpect sends a request and checks the status; for an error status it
// also checks the body is Caddy's JSON error, {"error": "..."}, containing
// errPart.
func admExpect(t *testing.T, c *testcaddy.Caddy, method, path, body string, status int, errPart string) admAnswer {
	t.Helper()
	a := admDo(t, c, method, path, body)
	if a.Status != status {
		t.Fatalf("%s %s: HTTP %d %s, want %d", method, path, a.Status, a.Body, status)
	}
	if status >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		a.JSON(t, &e)
		if ct := a.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
		if !strings.Contains(e.Error, errPart) {
			t.Errorf("%s %s: error %q, want it to contain %q", method, path, e.Error, errPart)
		}
	}
	return a
}

type admRoom struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
}

type admList struct {
	Rooms []admRoom `json:"rooms"`
	Next  string    `json:"next"`
}

type admDetail struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
	Seq     int    `json:"seq"`
	Clients []struct {
		ID         string `json:"id"`
		User       string `json:"user"`
		RemoteAddr string `json:"remote_addr"`
		JoinedAt   string `json:"joined_at"`
	} `json:"clients"`
}

func admListRooms(t *testing.T, c *testcaddy.Caddy, path string) admList {
	t.Helper()
	var l admList
	admExpect(t, c, "GET", path, "", 200, "").JSON(t, &l)
	return l
}

func (l admList) String() string {
	var b strings.Builder
	for _, r := range l.Rooms {
		fmt.Fprintf(&b, "%s:%d ", r.Name, r.Members)
	}
	if l.Next != "" {
		fmt.Fprintf(&b, "next=%s", l.Next)
	}
	return strings.TrimSpace(b.String())
}

// admJoinFree connects to /free and joins room by a join frame.
func admJoinFree(t *testing.T, c *testcaddy.Caddy, room string) *wstest.Client {
	t.Helper()
	cl := wstest.Join(t, c.URL("ws")+"/free", false)
	cl.Send(map[string]any{"type": "join", "room": room})
	cl.Expect("joined")
	return cl
}

// admPeople is the test's population of the default hub: alice and bob in
// lobby, carol in lounge, dave in "a/b", erin in "@odd".
type admPeople struct {
	alice, bob, carol, dave, erin *wstest.Client
}

func admPopulate(t *testing.T, c *testcaddy.Caddy) admPeople {
	t.Helper()
	var p admPeople
	p.alice = wstest.Join(t, c.URL("ws")+"/ws/lobby?user=alice", true)
	p.bob = wstest.Join(t, c.URL("ws")+"/ws/lobby?user=bob", true)
	p.alice.Expect("presence")
	p.carol = wstest.Join(t, c.URL("ws")+"/ws/lounge?user=carol", true)
	p.dave = admJoinFree(t, c, "a/b")
	p.erin = admJoinFree(t, c, "@odd")
	return p
}

func TestAdminListRooms(t *testing.T) {
	c := testcaddy.Start(t, admConfig("1KiB"))
	admPopulate(t, c)
	for _, tc := range []struct{ path, want string }{
		{"/rooms/", "@odd:1 a/b:1 lobby:2 lounge:1"},
		{"/rooms/?prefix=lo", "lobby:2 lounge:1"},
		{"/rooms/?prefix=lou", "lounge:1"},
		{"/rooms/?prefix=zzz", ""},
		{"/rooms/?limit=1", "@odd:1 next=@odd"},
		{"/rooms/?limit=2&after=%40odd", "a/b:1 lobby:2 next=lobby"},
		{"/rooms/?limit=2&after=lobby", "lounge:1"},
		{"/rooms/?after=lounge", ""},
		{"/rooms/?prefix=l&limit=1", "lobby:2 next=lobby"},
		{"/rooms/?limit=4", "@odd:1 a/b:1 lobby:2 lounge:1"},
		{"/rooms/@default/", "@odd:1 a/b:1 lobby:2 lounge:1"},
		{"/rooms/@other/", ""},
	} {
		if got := admListRooms(t, c, tc.path).String(); got != tc.want {
			t.Errorf("GET %s: %q, want %q", tc.path, got, tc.want)
		}
	}
	// an empty list is [], not null
	if a := admDo(t, c, "GET", "/rooms/?prefix=zzz", ""); !strings.Contains(string(a.Body), `"rooms":[]`) {
		t.Errorf("empty list: %s", a.Body)
	}
	for _, bad := range []string{"limit=0", "limit=-1", "limit=ten"} {
		admExpect(t, c, "GET", "/rooms/?"+bad, "", 400, "limit")
	}
	admExpect(t, c, "GET", "/rooms/@nohub/", "", 404, `no hub "nohub"`)
}

func TestAdminShowRoom(t *testing.T) {
	c := testcaddy.Start(t, admConfig("1KiB"))
	p := admPopulate(t, c)

	var d admDetail
	admExpect(t, c, "GET", "/rooms/lobby", "", 200, "").JSON(t, &d)
	if d.Name != "lobby" || d.Members != 2 || d.Seq != 0 || len(d.Clients) != 2 {
		t.Fatalf("lobby: %+v", d)
	}
	users := map[string]string{p.alice.ID: "alice", p.bob.ID: "bob"}
	for _, cl := range d.Clients {
		if users[cl.ID] != cl.User {
			t.Errorf("client %s: user %q, want %q", cl.ID, cl.User, users[cl.ID])
		}
		if !strings.HasPrefix(cl.RemoteAddr, "127.0.0.1:") {
			t.Errorf("client %s: remote_addr %q", cl.ID, cl.RemoteAddr)
		}
		at, err := time.Parse(time.RFC3339, cl.JoinedAt)
		if err != nil || time.Since(at) > time.Minute || time.Since(at) < 0 {
			t.Errorf("client %s: joined_at %q: %v", cl.ID, cl.JoinedAt, err)
		}
	}
	if d.Clients[0].ID != p.alice.ID {
		t.Errorf("clients are not in joining order: %+v", d.Clients)
	}

	// escaped names: a slash, and a leading @ (which would name a hub)
	d = admDetail{}
	admExpect(t, c, "GET", "/rooms/a%2Fb", "", 200, "").JSON(t, &d)
	if d.Name != "a/b" || d.Members != 1 || d.Clients[0].ID != p.dave.ID || d.Clients[0].User != "" {
		t.Errorf("a/b: %+v", d)
	}
	admExpect(t, c, "GET", "/rooms/%40odd", "", 200, "").JSON(t, &d)
	if d.Name != "@odd" || d.Clients[0].ID != p.erin.ID {
		t.Errorf("@odd: %+v", d)
	}
	admExpect(t, c, "GET", "/rooms/@default/lounge", "", 200, "").JSON(t, &d)
	if d.Name != "lounge" || d.Clients[0].ID != p.carol.ID {
		t.Errorf("@default/lounge: %+v", d)
	}

	admExpect(t, c, "GET", "/rooms/nope", "", 404, `no room "nope"`)
	admExpect(t, c, "GET", "/rooms/a/b", "", 404, "no such endpoint")
	admExpect(t, c, "GET", "/rooms/@other/lobby", "", 404, `no room "lobby"`)
}

func TestAdminPublish(t *testing.T) {
	c := testcaddy.Start(t, admConfig("1KiB"))
	p := admPopulate(t, c)

	var res struct{ Seq, Delivered int }
	admExpect(t, c, "POST", "/rooms/lobby/messages", `{"text": "hello",  "n": 1}`+"\n", 200, "").JSON(t, &res)
	if res.Seq != 1 || res.Delivered != 2 {
		t.Fatalf("publish: %+v, want seq 1 delivered 2", res)
	}
	for _, cl := range []*wstest.Client{p.alice, p.bob} {
		m := cl.Expect("message")
		data, _ := json.Marshal(m["data"])
		if m.Str("room") != "lobby" || m.Num("seq") != 1 || string(data) != `{"n":1,"text":"hello"}` {
			t.Errorf("%s got %v", cl, m)
		}
		if _, ok := m["from"]; ok {
			t.Errorf("a message from the admin API has a from: %v", m)
		}
	}
	// any JSON value, into an escaped room name
	admExpect(t, c, "POST", "/rooms/a%2Fb/messages", `"just text"`, 200, "").JSON(t, &res)
	if m := p.dave.Expect("message"); m.Str("data") != "just text" || res.Seq != 1 || res.Delivered != 1 {
		t.Errorf("a/b: %v, %+v", m, res)
	}

	// the default hub's limit is 64 KiB: exactly that passes, one more byte does not
	exact := `"` + strings.Repeat("x", 64<<10-2) + `"`
	admExpect(t, c, "POST", "/rooms/lobby/messages", exact, 200, "").JSON(t, &res)
	if m := p.alice.Expect("message"); len(m.Str("data")) != 64<<10-2 || res.Seq != 2 {
		t.Errorf("64 KiB message: seq %d, %d bytes", res.Seq, len(m.Str("data")))
	}
	p.bob.Expect("message")
	admExpect(t, c, "POST", "/rooms/lobby/messages", exact+" ", 413, "64 KiB")

	for _, tc := range []struct{ name, body string }{
		{"empty", ""},
		{"blank", "  \n"},
		{"not JSON", "hello"},
		{"two values", `{"a":1} {"b":2}`},
		{"truncated", `{"a":`},
	} {
		admExpect(t, c, "POST", "/rooms/lobby/messages", tc.body, 400, "JSON")
	}
	admExpect(t, c, "POST", "/rooms/nope/messages", `{}`, 404, `no room "nope"`)
	admExpect(t, c, "POST", "/rooms/@nohub/lobby/messages", `{}`, 404, `no hub "nohub"`)

	// nothing of the refused ones was delivered, and the room's seq says so
	var d admDetail
	admExpect(t, c, "GET", "/rooms/lobby", "", 200, "").JSON(t, &d)
	if d.Seq != 2 {
		t.Errorf("lobby seq %d after 2 publishes", d.Seq)
	}
	p.alice.ExpectSilence(200 * time.Millisecond)
}

func TestAdminSecondHubLimitFollowsConfig(t *testing.T) {
	c := testcaddy.Start(t, admConfig("2KiB"))
	o := wstest.Join(t, c.URL("ws")+"/other/lobby", true)
	d := wstest.Join(t, c.URL("ws")+"/ws/lobby", true) // same name, default hub

	if got := admListRooms(t, c, "/rooms/@other/").String(); got != "lobby:1" {
		t.Fatalf("hub other: %q", got)
	}
	var det admDetail
	admExpect(t, c, "GET", "/rooms/@other/lobby", "", 200, "").JSON(t, &det)
	if det.Members != 1 || det.Clients[0].ID != o.ID {
		t.Fatalf("@other/lobby: %+v", det)
	}
	// the limit is hub other's max_message_size, 2 KiB
	at := func(n int) string { return `"` + strings.Repeat("y", n-2) + `"` }
	admExpect(t, c, "POST", "/rooms/@other/lobby/messages", at(2048), 200, "")
	if m := o.Expect("message"); len(m.Str("data")) != 2046 {
		t.Fatalf("other got %v", m)
	}
	admExpect(t, c, "POST", "/rooms/@other/lobby/messages", at(2049), 413, "2.0 KiB")
	d.ExpectSilence(100 * time.Millisecond) // the default hub's lobby heard nothing

	// a reload keeps the rooms, and the limit follows the new config: the
	// old config's 2 KiB no longer counts
	c.Reload(admConfig("1KiB"))
	admExpect(t, c, "POST", "/rooms/@other/lobby/messages", at(1024), 200, "")
	if m := o.Expect("message"); len(m.Str("data")) != 1022 {
		t.Fatalf("after reload, other got %v", m)
	}
	admExpect(t, c, "POST", "/rooms/@other/lobby/messages", at(1025), 413, "1.0 KiB")
	if got := admListRooms(t, c, "/rooms/").String(); got != "lobby:1" {
		t.Errorf("default hub after reload: %q", got)
	}
}

func TestAdminKick(t *testing.T) {
	c := testcaddy.Start(t, admConfig("1KiB"))
	p := admPopulate(t, c)

	admExpect(t, c, "DELETE", "/rooms/lobby/clients/"+p.bob.ID, "", 204, "")
	p.bob.ExpectClose(hub.CloseKicked, "disconnected by the operator")
	if f := p.alice.Expect("presence"); f.Str("event") != "leave" || f.Str("client") != p.bob.ID {
		t.Errorf("alice got %v", f)
	}
	admExpect(t, c, "DELETE", "/rooms/lobby/clients/"+p.bob.ID, "", 404, "no client")
	admExpect(t, c, "DELETE", "/rooms/lounge/clients/"+p.alice.ID, "", 404, "no client") // not in that room
	admExpect(t, c, "DELETE", "/rooms/lobby/clients/nobody", "", 404, `no client "nobody"`)
	admExpect(t, c, "DELETE", "/rooms/@other/lobby/clients/"+p.alice.ID, "", 404, "no client")
	admExpect(t, c, "DELETE", "/rooms/%40odd/clients/"+p.erin.ID+"?reconnect=maybe", "", 400, "want true or false")
	admExpect(t, c, "DELETE", "/rooms/%40odd/clients/"+p.erin.ID+"?reconnect=true", "", 204, "")
	p.erin.ExpectClose(hub.ClosePolicy, "disconnected by the operator")
	if got := admListRooms(t, c, "/rooms/").String(); got != "a/b:1 lobby:1 lounge:1" {
		t.Errorf("after kicks: %q", got)
	}
}

func TestAdminEmptyRoom(t *testing.T) {
	c := testcaddy.Start(t, admConfig("1KiB"))
	p := admPopulate(t, c)
	p.carol.Send(map[string]any{"type": "join", "room": "lobby"})
	p.carol.Expect("joined")
	p.alice.Expect("presence")
	p.bob.Expect("presence")

	admExpect(t, c, "DELETE", "/rooms/lobby", "", 204, "")
	for _, cl := range []*wstest.Client{p.alice, p.bob, p.carol} {
		if f := cl.Expect("left"); f.Str("room") != "lobby" {
			t.Errorf("%s got %v", cl, f)
		}
	}
	admExpect(t, c, "GET", "/rooms/lobby", "", 404, "no room")
	admExpect(t, c, "DELETE", "/rooms/lobby", "", 404, `no room "lobby"`)
	// carol is still in lounge and still connected
	var res struct{ Seq, Delivered int }
	admExpect(t, c, "POST", "/rooms/lounge/messages", `1`, 200, "").JSON(t, &res)
	if f := p.carol.Expect("message"); f.Num("data") != 1 || res.Delivered != 1 {
		t.Errorf("carol got %v, %+v", f, res)
	}
	// alice's connection stays open: she can join again
	p.alice.Send(map[string]any{"type": "join", "room": "lobby"})
	if f := p.alice.Expect("joined"); f.Num("members") != 1 {
		t.Errorf("alice rejoined: %v", f)
	}
	if got := admListRooms(t, c, "/rooms/").String(); got != "@odd:1 a/b:1 lobby:1 lounge:1" {
		t.Errorf("after empty and rejoin: %q", got)
	}
}

func TestAdminMethodsAndPaths(t *testing.T) {
	c := testcaddy.Start(t, admConfig("1KiB"))
	admPopulate(t, c)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/rooms/", 405, "GET"},
		{"DELETE", "/rooms/", 405, "GET"},
		{"PUT", "/rooms/lobby", 405, "GET, DELETE"},
		{"POST", "/rooms/lobby", 405, "GET, DELETE"},
		{"GET", "/rooms/lobby/messages", 405, "POST"},
		{"DELETE", "/rooms/lobby/messages", 405, "POST"},
		{"GET", "/rooms/lobby/clients/x", 405, "DELETE"},
		{"POST", "/rooms/@other/lobby/clients/x", 405, "DELETE"},
		{"GET", "/rooms/lobby/", 404, ""},
		{"GET", "/rooms/lobby/members", 404, ""},
		{"GET", "/rooms/lobby/clients", 404, ""},
		{"DELETE", "/rooms/lobby/clients/x/y", 404, ""},
	} {
		part := "no such endpoint"
		if tc.status == 405 {
			part = "not allowed"
		}
		a := admExpect(t, c, tc.method, tc.path, "", tc.status, part)
		if got := a.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
}

func TestAdminSurvivesReload(t *testing.T) {
	c := testcaddy.Start(t, admConfig("1KiB"))
	p := admPopulate(t, c)
	c.Reload(strings.Replace(admConfig("1KiB"), "rooms /free", "rooms /free\n\trespond /hello \"hi\"", 1))
	if resp, err := testcaddy.Get(c.URL("http") + "/hello"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the new config is not loaded: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if got := admListRooms(t, c, "/rooms/").String(); got != "@odd:1 a/b:1 lobby:2 lounge:1" {
		t.Fatalf("after reload: %q", got)
	}
	var res struct{ Seq, Delivered int }
	admExpect(t, c, "POST", "/rooms/lobby/messages", `"after reload"`, 200, "").JSON(t, &res)
	if res.Delivered != 2 {
		t.Errorf("after reload: %+v", res)
	}
	p.alice.Expect("message")
	admExpect(t, c, "DELETE", "/rooms/lounge/clients/"+p.carol.ID, "", 204, "")
	p.carol.ExpectClose(hub.CloseKicked, "disconnected by the operator")
}
