package caddyrooms

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// Demo accounts for the tests: `caddy hash-password --bcrypt-cost 4` of
// alice-secret, bob-secret and backend-secret (a low cost keeps tests fast).
const (
	aliceHash   = "$2a$04$Usf5/VQIFUxNssUgvXgEs.ZfcMri60ZjoUePFJD53uTpsoQuPjKSG"
	bobHash     = "$2a$04$uOJT4Sq/Iri3VMxxCzIqXeDni3YZ2KAniEVoQVzgMhc9.PVQxlQ4G"
	backendHash = "$2a$04$OZ7r.Z5G4MchEu58mOoSNuB3leAhGRyHbueVpmhiy1bkTnx18Z9Va"
)

func basicAuth(user, password string) http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}}
}

// dialAs connects with basic_auth credentials and reads `welcome`.
func dialAs(t *testing.T, url, user string) (*wstest.Client, wstest.Frame) {
	t.Helper()
	c := wstest.Dial(t, url, basicAuth(user, user+"-secret"))
	w := c.Expect("welcome")
	c.ID = w.Str("client")
	return c, w
}

var frameIDs struct {
	sync.Mutex
	n int
}

// request sends a frame with a fresh id and returns the server's reply to
// it (joined, left, ack or error), skipping presence and messages.
func request(t *testing.T, c *wstest.Client, frame map[string]any) wstest.Frame {
	t.Helper()
	frameIDs.Lock()
	frameIDs.n++
	id := fmt.Sprint(frameIDs.n)
	frameIDs.Unlock()
	frame["id"] = id
	c.Send(frame)
	for {
		f := c.Next()
		if f.Str("id") == id {
			return f
		}
		if f.Type() != "presence" && f.Type() != "message" {
			t.Fatalf("%s: got %v while waiting for the reply to %v", c, f, frame)
		}
	}
}

func join(t *testing.T, c *wstest.Client, room string) wstest.Frame {
	t.Helper()
	return request(t, c, map[string]any{"type": "join", "room": room})
}

func publish(t *testing.T, c *wstest.Client, room string, data any) wstest.Frame {
	t.Helper()
	return request(t, c, map[string]any{"type": "publish", "room": room, "data": data})
}

// outcome is "joined", "ack" or the error's code.
func outcome(f wstest.Frame) string {
	if f.Type() == "error" {
		return f.Str("code")
	}
	return f.Type()
}

const peopleSite = `
http://127.0.0.1:{PORT} {
	@people path /ws /room/*
	basic_auth @people {
		alice ` + aliceHash + `
		bob ` + bobHash + `
	}
	route /ws {
		rooms {
			user {http.auth.user.id}
			allow_join user:{user}:* lobby news team:{query.team}
			allow_publish lobby user:{user}:*
			read_only news
		}
	}
	route /room/* {
		rooms {
			room {path.1}
			user {http.auth.user.id}
			allow_join user:{user}:* lobby
		}
	}
	basic_auth /api/* {
		backend ` + backendHash + `
	}
	rooms_publish /api/publish/* {path.2}
}
`

// Identity comes from basic_auth: it is in welcome, in presence and in the
// admin API, and a handshake without credentials is refused before any
// upgrade.
func TestAuthIdentityFromBasicAuth(t *testing.T) {
	c := testcaddy.Start(t, peopleSite)
	url := c.URL("ws") + "/ws"

	_, resp, err := wstest.TryDial(url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a handshake without credentials: %v, %v; want HTTP 401", err, resp)
	}
	_, resp, err = wstest.TryDial(url, basicAuth("alice", "wrong"))
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a handshake with a wrong password: %v, %v; want HTTP 401", err, resp)
	}

	alice, w := dialAs(t, url, "alice")
	if w.Str("user") != "alice" {
		t.Fatalf("alice's welcome = %v, want user alice", w)
	}
	if f := join(t, alice, "lobby"); outcome(f) != "joined" {
		t.Fatalf("alice joins lobby: %v", f)
	}
	bob, w := dialAs(t, url, "bob")
	if w.Str("user") != "bob" {
		t.Fatalf("bob's welcome = %v, want user bob", w)
	}
	if f := join(t, bob, "lobby"); outcome(f) != "joined" || f.Num("members") != 2 {
		t.Fatalf("bob joins lobby: %v, want joined with 2 members", f)
	}
	p := alice.Expect("presence")
	if p.Str("event") != "join" || p.Str("user") != "bob" || p.Str("client") != bob.ID {
		t.Fatalf("alice sees %v, want bob's join with user bob and client %s", p, bob.ID)
	}

	resp, err = testcaddy.Get(c.AdminURL() + "/rooms/lobby")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var room struct {
		Clients []struct{ ID, User string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&room); err != nil {
		t.Fatal(err)
	}
	users := map[string]string{}
	for _, cl := range room.Clients {
		users[cl.ID] = cl.User
	}
	if users[alice.ID] != "alice" || users[bob.ID] != "bob" || len(users) != 2 {
		t.Fatalf("the admin API lists %+v, want alice and bob", room.Clients)
	}
}

// The allow lists, read_only and a handshake placeholder (team:{query.team})
// decide every join and publish; the refused get `forbidden`.
func TestAuthAllowLists(t *testing.T) {
	c := testcaddy.Start(t, peopleSite)
	base := c.URL("ws") + "/ws"
	alice, _ := dialAs(t, base+"?team=red", "alice")
	bob, _ := dialAs(t, base, "bob")
	who := map[string]*wstest.Client{"alice": alice, "bob": bob}

	for _, tc := range []struct {
		who, op, room, want string
	}{
		{"alice", "join", "lobby", "joined"},
		{"alice", "join", "user:alice:inbox", "joined"},
		{"alice", "join", "user:alice:", "joined"},
		{"alice", "join", "user:bob:inbox", "forbidden"},
		{"alice", "join", "user:alice", "forbidden"},
		{"alice", "join", "lobby2", "forbidden"},
		{"alice", "join", "*", "forbidden"},
		{"alice", "join", "news", "joined"},
		{"alice", "join", "team:red", "joined"},
		{"alice", "join", "team:blue", "forbidden"},
		{"bob", "join", "team:", "forbidden"}, // bob has no team: the pattern matches nothing
		{"bob", "join", "team:red", "forbidden"},
		{"bob", "join", "user:bob:inbox", "joined"},
		{"bob", "join", "user:alice:inbox", "forbidden"},
		{"bob", "join", "lobby", "joined"},
		{"alice", "publish", "lobby", "ack"},
		{"alice", "publish", "user:alice:inbox", "ack"},
		{"alice", "publish", "news", "forbidden"},     // read-only
		{"alice", "publish", "team:red", "forbidden"}, // may join, may not publish
		{"alice", "publish", "user:bob:inbox", "not_member"},
		{"bob", "publish", "user:bob:inbox", "ack"},
		{"bob", "publish", "lobby", "ack"},
	} {
		var f wstest.Frame
		if tc.op == "join" {
			f = join(t, who[tc.who], tc.room)
		} else {
			f = publish(t, who[tc.who], tc.room, map[string]any{"text": "hi"})
		}
		if got := outcome(f); got != tc.want {
			t.Errorf("%s %ss %q: got %v, want %s", tc.who, tc.op, tc.room, f, tc.want)
		}
	}
}

// The route's own room obeys allow_join: a refused one gets `forbidden`
// and the connection closes with 1008.
func TestAuthPathRoomObeysAllowJoin(t *testing.T) {
	c := testcaddy.Start(t, peopleSite)
	alice := wstest.Dial(t, c.URL("ws")+"/room/user:alice:inbox", basicAuth("alice", "alice-secret"))
	alice.Expect("welcome")
	if f := alice.Expect("joined"); f.Str("room") != "user:alice:inbox" {
		t.Fatalf("joined %v, want alice's inbox", f)
	}

	bob := wstest.Dial(t, c.URL("ws")+"/room/user:alice:inbox", basicAuth("bob", "bob-secret"))
	bob.Expect("welcome")
	bob.ExpectError(hub.CodeForbidden)
	bob.ExpectClose(hub.CloseForbidden, "cannot join "+"user:alice:inbox")
	alice.ExpectSilence(300 * time.Millisecond) // no presence about bob
}

// Presence and messages of a room reach its members only: a refused join
// hears nothing of the room afterwards.
func TestAuthNonMemberHearsNothing(t *testing.T) {
	c := testcaddy.Start(t, peopleSite)
	url := c.URL("ws") + "/ws"
	bob, _ := dialAs(t, url, "bob")
	if f := join(t, bob, "lobby"); outcome(f) != "joined" {
		t.Fatal(f)
	}
	if f := join(t, bob, "user:alice:inbox"); outcome(f) != hub.CodeForbidden {
		t.Fatalf("bob joins alice's inbox: %v, want forbidden", f)
	}
	alice, _ := dialAs(t, url, "alice")
	if f := join(t, alice, "user:alice:inbox"); outcome(f) != "joined" || f.Num("members") != 1 {
		t.Fatalf("alice joins her inbox: %v, want joined alone", f)
	}
	if f := publish(t, alice, "user:alice:inbox", "private"); outcome(f) != "ack" {
		t.Fatal(f)
	}
	status, _ := postPublish(t, c, "user:alice:inbox", "backend", `{"from":"the server"}`)
	if status != http.StatusOK {
		t.Fatalf("server publish: HTTP %d", status)
	}
	alice.Expect("message")
	bob.ExpectSilence(300 * time.Millisecond)
}

// The join callback: the backend sees the room, client, user and forwarded
// handshake headers; 2xx allows, 4xx refuses with `forbidden`; slow, 5xx
// and down backends refuse with `authorization_failed` and a warning;
// cached answers spare the backend, for the same user only, and failures
// are never cached; a redirect is a refusal, not followed.
func TestAuthCallback(t *testing.T) {
	type call struct {
		Room, Client, User, Cookie, Authorization, Other, RemoteAddr string
	}
	var (
		mu       sync.Mutex
		calls    []call
		followed int // requests to the target of a redirect
	)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/followed" {
			mu.Lock()
			followed++
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent) // would allow, were it asked
			return
		}
		var body struct {
			Room, Client, User string
			RemoteAddr         string `json:"remote_addr"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		calls = append(calls, call{body.Room, body.Client, body.User, r.Header.Get("Cookie"), r.Header.Get("Authorization"), r.Header.Get("X-Other"), body.RemoteAddr})
		mu.Unlock()
		switch {
		case strings.HasPrefix(body.Room, "private") && body.User == "alice",
			strings.HasPrefix(body.Room, "ok"):
			w.WriteHeader(http.StatusNoContent)
		case strings.HasPrefix(body.Room, "redirect"):
			http.Redirect(w, r, "/followed", http.StatusTemporaryRedirect)
		case body.Room == "slow":
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		case strings.HasPrefix(body.Room, "boom"):
			http.Error(w, "oops", http.StatusInternalServerError)
		default:
			http.Error(w, "no", http.StatusForbidden)
		}
	}))
	t.Cleanup(backend.Close)
	callsFor := func(room string) []call {
		mu.Lock()
		defer mu.Unlock()
		var out []call
		for _, c := range calls {
			if c.Room == room {
				out = append(out, c)
			}
		}
		return out
	}

	down := fmt.Sprintf("http://127.0.0.1:%d/auth", testcaddy.FreePort(t))
	c := testcaddy.Start(t, `
http://127.0.0.1:{PORT} {
	route /ws {
		rooms {
			user {query.name}
			authorize `+backend.URL+`/auth {
				timeout 300ms
			}
		}
	}
	route /cached {
		rooms {
			user {query.name}
			authorize `+backend.URL+`/auth {
				cache 1m
				headers Cookie
			}
		}
	}
	route /down {
		rooms {
			authorize `+down+`
		}
	}
	route /room/* {
		rooms {
			room {path.1}
			authorize `+backend.URL+`/auth
		}
	}
}
`)
	ws := c.URL("ws")
	hdr := http.Header{"Cookie": {"session=abc"}, "Authorization": {"Bearer t0ken"}, "X-Other": {"not forwarded"}}

	t.Run("allowing", func(t *testing.T) {
		cl := wstest.Dial(t, ws+"/ws?name=alice", hdr)
		cl.ID = cl.Expect("welcome").Str("client")
		if f := join(t, cl, "ok-1"); outcome(f) != "joined" {
			t.Fatalf("join ok-1: %v", f)
		}
		got := callsFor("ok-1")
		want := call{"ok-1", cl.ID, "alice", "session=abc", "Bearer t0ken", "", cl.Conn.LocalAddr().String()}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("the backend saw %+v, want [%+v]", got, want)
		}
	})
	t.Run("refusing", func(t *testing.T) {
		alice := wstest.Join(t, ws+"/ws?name=alice", false)
		bob := wstest.Join(t, ws+"/ws?name=bob", false)
		if f := join(t, alice, "private"); outcome(f) != "joined" {
			t.Fatalf("alice joins private: %v", f)
		}
		f := join(t, bob, "private")
		if outcome(f) != hub.CodeForbidden {
			t.Fatalf("bob joins private: %v, want forbidden", f)
		}
		if f := publish(t, bob, "private", "psst"); outcome(f) != hub.CodeNotMember {
			t.Fatalf("bob publishes in private: %v, want not_member", f)
		}
		if f := publish(t, alice, "private", "secret"); outcome(f) != "ack" {
			t.Fatal(f)
		}
		bob.ExpectSilence(300 * time.Millisecond) // no presence, no message
	})
	t.Run("timing out", func(t *testing.T) {
		cl := wstest.Join(t, ws+"/ws?name=carol", false)
		start := time.Now()
		f := join(t, cl, "slow")
		if outcome(f) != hub.CodeAuthFailed {
			t.Fatalf("join slow: %v, want %s", f, hub.CodeAuthFailed)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("the refusal took %s; the timeout is 300ms", took)
		}
		// the connection goes on
		if f := join(t, cl, "ok-after-slow"); outcome(f) != "joined" {
			t.Fatalf("join after a timeout: %v", f)
		}
	})
	t.Run("failing", func(t *testing.T) {
		cl := wstest.Join(t, ws+"/ws?name=carol", false)
		if f := join(t, cl, "boom"); outcome(f) != hub.CodeAuthFailed {
			t.Fatalf("join boom: %v, want %s", f, hub.CodeAuthFailed)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		cl := wstest.Join(t, ws+"/ws?name=carol", false)
		if f := join(t, cl, "redirect"); outcome(f) != hub.CodeForbidden {
			t.Fatalf("join redirect: %v, want forbidden (a 3xx refuses)", f)
		}
		mu.Lock()
		defer mu.Unlock()
		if followed != 0 {
			t.Fatalf("the redirect was followed %d times", followed)
		}
	})
	t.Run("down", func(t *testing.T) {
		cl := wstest.Join(t, ws+"/down", false)
		f := join(t, cl, "anything")
		if outcome(f) != hub.CodeAuthFailed || f.Str("message") == "" {
			t.Fatalf("join with the backend down: %v, want %s with a message", f, hub.CodeAuthFailed)
		}
		waitForLog(t, c, `"msg":"authorization backend failed; join refused"`, down)
	})
	t.Run("path room", func(t *testing.T) {
		wstest.Join(t, ws+"/room/ok-path", true)
		no := wstest.Dial(t, ws+"/room/no-path", nil)
		no.Expect("welcome")
		no.ExpectError(hub.CodeForbidden)
		no.ExpectClose(hub.CloseForbidden, "cannot join "+"no-path")
	})
	t.Run("caching", func(t *testing.T) {
		for i := 0; i < 2; i++ { // two connections, the same user and cookie
			cl := wstest.Dial(t, ws+"/cached?name=dave", http.Header{"Cookie": {"session=d"}})
			cl.Expect("welcome")
			if f := join(t, cl, "ok-cached"); outcome(f) != "joined" {
				t.Fatalf("join ok-cached: %v", f)
			}
			if f := join(t, cl, "no-cached"); outcome(f) != hub.CodeForbidden {
				t.Fatalf("join no-cached: %v", f)
			}
		}
		if n, m := len(callsFor("ok-cached")), len(callsFor("no-cached")); n != 1 || m != 1 {
			t.Fatalf("the backend was asked %d and %d times, want once each", n, m)
		}
		other := wstest.Dial(t, ws+"/cached?name=dave", http.Header{"Cookie": {"session=other"}})
		other.Expect("welcome")
		if f := join(t, other, "ok-cached"); outcome(f) != "joined" {
			t.Fatal(f)
		}
		if n := len(callsFor("ok-cached")); n != 2 {
			t.Fatalf("another cookie: the backend was asked %d times in all, want 2", n)
		}
	})
	t.Run("caching per user", func(t *testing.T) {
		alice := wstest.Dial(t, ws+"/cached?name=alice", http.Header{"Cookie": {"session=same"}})
		alice.Expect("welcome")
		if f := join(t, alice, "private-cached"); outcome(f) != "joined" {
			t.Fatalf("alice joins private-cached: %v", f)
		}
		bob := wstest.Dial(t, ws+"/cached?name=bob", http.Header{"Cookie": {"session=same"}})
		bob.Expect("welcome")
		if f := join(t, bob, "private-cached"); outcome(f) != hub.CodeForbidden {
			t.Fatalf("bob joins private-cached with alice's cookie: %v, want forbidden (not alice's cached answer)", f)
		}
		if n := len(callsFor("private-cached")); n != 2 {
			t.Fatalf("the backend was asked %d times, want once per user", n)
		}
	})
	t.Run("failures never cached", func(t *testing.T) {
		cl := wstest.Dial(t, ws+"/cached?name=dave", http.Header{"Cookie": {"session=d"}})
		cl.Expect("welcome")
		for i := 0; i < 2; i++ {
			if f := join(t, cl, "boom-cached"); outcome(f) != hub.CodeAuthFailed {
				t.Fatalf("join boom-cached: %v, want %s", f, hub.CodeAuthFailed)
			}
		}
		if n := len(callsFor("boom-cached")); n != 2 {
			t.Fatalf("the failing backend was asked %d times, want 2: a failure is not cached", n)
		}
	})
}

// waitForLog waits, at most 5 s, until Caddy's log has a line with every
// one of parts.
func waitForLog(t *testing.T, c *testcaddy.Caddy, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, line := range strings.Split(c.Log(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within 5s:\n%s", parts, c.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAuthPatterns(t *testing.T) {
	cl := &hub.Client{ID: "c1", User: "alice"}
	star := &hub.Client{ID: "c2", User: "a*"}
	anon := &hub.Client{ID: "c3"}
	ca := &connAuth{values: map[string]string{"http.request.uri.query.team": "red", "empty": ""}}
	for _, tc := range []struct {
		pattern string
		c       *hub.Client
		room    string
		want    bool
	}{
		{"lobby", cl, "lobby", true},
		{"lobby", cl, "lobby2", false},
		{"lobby", cl, "Lobby", false},
		{"*", cl, "", true},
		{"*", cl, "any/thing:at all", true},
		{"user:{user}:*", cl, "user:alice:inbox", true},
		{"user:{user}:*", cl, "user:alice:", true},
		{"user:{user}:*", cl, "user:alice", false},
		{"user:{user}:*", cl, "user:bob:inbox", false},
		{"user:{user}:*", cl, "user:alice:a/b:c", true},
		{"user:{user}", star, "user:a*", true}, // the identity is literal text
		{"user:{user}", star, "user:abc", false},
		{"user:{user}:*", star, "user:alice:x", false},
		{"user:{user}:*", anon, "user::x", false}, // no identity: no match
		{"{user}", anon, "", false},
		{"client:{client}", cl, "client:c1", true},
		{"client:{client}", cl, "client:c2", false},
		{"team:{http.request.uri.query.team}", cl, "team:red", true},
		{"team:{http.request.uri.query.team}", cl, "team:blue", false},
		{"x:{empty}", cl, "x:", false},
		{"x:{unknown}", cl, "x:", false},
		{"a*b*c", cl, "abc", true},
		{"a*b*c", cl, "a-b-b-c", true},
		{"a*b*c", cl, "acb", false},
		{"a**c", cl, "ac", true},
		{"*:*", cl, "a:b", true},
		{"*:*", cl, "ab", false},
		{"ab*ba", cl, "aba", false}, // prefix and suffix may not overlap
	} {
		p, err := parsePattern(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		if got := p.match(tc.room, tc.c, ca); got != tc.want {
			t.Errorf("%q (user %q) matches %q: %v, want %v", tc.pattern, tc.c.User, tc.room, got, tc.want)
		}
	}
	for _, bad := range []string{"", "a{", "a}", "{}", "x{a{b}}"} {
		if _, err := parsePattern(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestAuthCaddyfile(t *testing.T) {
	d := caddyfile.NewTestDispenser(`rooms {
		user {http.auth.user.id}
		allow_join user:{user}:* lobby
		allow_join news
		allow_publish lobby
		read_only news
		authorize http://127.0.0.1:3000/auth {
			timeout 2s
			cache 30s
			headers Cookie X-Session
		}
		max_rooms 5
	}`)
	var h Handler
	if err := h.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(h)
	want := `{"user":"{http.auth.user.id}","max_rooms":5,"allow_join":["user:{user}:*","lobby","news"],` +
		`"allow_publish":["lobby"],"read_only":["news"],` +
		`"authorize":{"url":"http://127.0.0.1:3000/auth","timeout":2000000000,"cache":30000000000,"headers":["Cookie","X-Session"]}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{
		"rooms {\n allow_join\n}",
		"rooms {\n allow_publish lobby user:{user\n}",
		"rooms {\n authorize\n}",
		"rooms {\n authorize http://a http://b\n}",
		"rooms {\n authorize http://a {\n timeout soon\n }\n}",
		"rooms {\n authorize http://a {\n retries 3\n }\n}",
		"rooms {\n authorize http://a\n authorize http://b\n}",
	} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	for _, bad := range []Handler{
		{AllowJoin: []string{"a{b"}},
		{ReadOnly: []string{""}},
		{Authorize: &Authorize{URL: "ftp://x"}},
		{Authorize: &Authorize{URL: "/relative"}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// The example examples/auth/Caddyfile works as its comments say. Only its
// ports and its demo hash change: the test uses the same password, hashed
// with a low bcrypt cost to stay fast.
func TestAuthExample(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testcaddy.RepoRoot(), "examples", "auth", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	const demoHash = "$2a$14$6LCze/D.9Dm3nbsjqPRZnu.1viRQ2tu/5vznnOI4q7xmgwzbxKQ9S" // hunter2
	if !strings.Contains(string(src), demoHash) {
		t.Fatal("the example's demo hash changed; update this test")
	}
	cfg := strings.NewReplacer(
		"localhost:2019", "127.0.0.1:{ADMIN}",
		"http://localhost:8080", "http://127.0.0.1:{PORT}",
		demoHash, "$2a$04$VovgL.Z3Pla9ujXDBxjKbO7oUBm/9EKyblAU8U/doiS1SYE8NQ1ae",
	).Replace(string(src))
	cfg = cfg[strings.Index(cfg, "\n{\n")+1:] // from the global options, which Start looks for first
	c := testcaddy.Start(t, cfg)
	as := func(user string) http.Header { return basicAuth(user, "hunter2") }

	if resp, err := testcaddy.Get(c.URL("http") + "/"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the page without logging in: %v %v, want 401", resp, err)
	}
	alice := wstest.Dial(t, c.URL("ws")+"/ws", as("alice"))
	if w := alice.Expect("welcome"); w.Str("user") != "alice" {
		t.Fatalf("welcome %v, want user alice", w)
	}
	bob := wstest.Dial(t, c.URL("ws")+"/ws", as("bob"))
	bob.Expect("welcome")
	for _, tc := range []struct {
		who  *wstest.Client
		op   string
		room string
		want string
	}{
		{alice, "join", "lobby", "joined"},
		{alice, "join", "user:alice:notes", "joined"},
		{alice, "join", "user:bob:notes", hub.CodeForbidden},
		{alice, "join", "elsewhere", hub.CodeForbidden},
		{alice, "join", "announcements", "joined"},
		{bob, "join", "announcements", "joined"},
		{alice, "publish", "user:alice:notes", "ack"},
		{alice, "publish", "lobby", "ack"},
		{alice, "publish", "announcements", hub.CodeForbidden},
	} {
		var f wstest.Frame
		if tc.op == "join" {
			f = join(t, tc.who, tc.room)
		} else {
			f = publish(t, tc.who, tc.room, "hi")
		}
		if got := outcome(f); got != tc.want {
			t.Errorf("%s %q: got %v, want %s", tc.op, tc.room, f, tc.want)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, c.URL("http")+"/api/publish/announcements", strings.NewReader(`{"text":"deploy at 5pm"}`))
	req.SetBasicAuth("backend", "hunter2")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"seq":1,"delivered":2}` {
		t.Fatalf("the backend publishes: HTTP %d %s, want 200 {\"seq\":1,\"delivered\":2}", resp.StatusCode, body)
	}
	for _, cl := range []*wstest.Client{alice, bob} {
		if m := cl.ExpectSkipping("message", "presence"); m.Str("room") != "announcements" || m["from"] != nil {
			t.Fatalf("got %v, want the server's announcement", m)
		}
	}
}
