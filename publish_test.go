package caddyrooms

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// postPublish POSTs body to the site's /api/publish/{room} with user's
// basic_auth credentials (none when user is "", the password user-secret
// unless user is "name:password"), and returns the status and the body of
// the answer.
func postPublish(t *testing.T, c *testcaddy.Caddy, room, user, body string) (int, string) {
	t.Helper()
	return doPublish(t, http.MethodPost, c.URL("http")+"/api/publish/"+room, user, body)
}

func doPublish(t *testing.T, method, url, user, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		name, password, ok := strings.Cut(user, ":")
		if !ok {
			password = user + "-secret"
		}
		req.SetBasicAuth(name, password)
	}
	req.Header.Set("Content-Type", "application/json")
	cl := http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if method == http.MethodGet && resp.StatusCode == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("405 with Allow %q, want POST", resp.Header.Get("Allow"))
	}
	return resp.StatusCode, string(b)
}

// The in-site publish endpoint: refused without the operator's basic_auth,
// and with it a backend publishes into a room, read-only ones included, as
// the server.
func TestPublishEndpoint(t *testing.T) {
	c := testcaddy.Start(t, `
http://127.0.0.1:{PORT} {
	route /ws {
		rooms {
			read_only news
		}
	}
	basic_auth /api/* {
		backend `+backendHash+`
	}
	rooms_publish /api/publish/* {
		room {path.2}
		max_size 1KiB
	}
}
`)
	reader := wstest.Join(t, c.URL("ws")+"/ws", false)
	if f := join(t, reader, "news"); outcome(f) != "joined" {
		t.Fatal(f)
	}
	if f := publish(t, reader, "news", "from a client"); outcome(f) != hub.CodeForbidden {
		t.Fatalf("a client publishes in a read-only room: %v, want forbidden", f)
	}

	for _, tc := range []struct {
		name, method, room, user, body string
		status                         int
	}{
		{"no credentials", "POST", "news", "", `{"text":"x"}`, http.StatusUnauthorized},
		{"a wrong password", "POST", "news", "backend:guess", `{"text":"x"}`, http.StatusUnauthorized},
		{"a room with no members", "POST", "nobody-here", "backend", `{"text":"x"}`, http.StatusNotFound},
		{"not JSON", "POST", "news", "backend", `hello`, http.StatusBadRequest},
		{"an empty body", "POST", "news", "backend", ``, http.StatusBadRequest},
		{"over max_size", "POST", "news", "backend", `"` + strings.Repeat("x", 2000) + `"`, http.StatusRequestEntityTooLarge},
		{"GET", "GET", "news", "backend", ``, http.StatusMethodNotAllowed},
	} {
		status, body := doPublish(t, tc.method, c.URL("http")+"/api/publish/"+tc.room, tc.user, tc.body)
		if status != tc.status {
			t.Errorf("%s: HTTP %d %s, want %d", tc.name, status, body, tc.status)
		}
	}

	status, body := postPublish(t, c, "news", "backend", "{\"text\": \"extra!\"}\n")
	var res struct{ Seq, Delivered int }
	if err := json.Unmarshal([]byte(body), &res); status != http.StatusOK || err != nil || res.Seq != 1 || res.Delivered != 1 {
		t.Fatalf("publish: HTTP %d %s, want 200 {\"seq\":1,\"delivered\":1}", status, body)
	}
	m := reader.Expect("message")
	if m.Str("room") != "news" || m.Num("seq") != 1 || m["from"] != nil {
		t.Fatalf("got %v, want news's message 1 from the server", m)
	}
	if d, _ := m["data"].(map[string]any); d["text"] != "extra!" {
		t.Fatalf("data %v, want the body", m["data"])
	}
	reader.ExpectSilence(300 * time.Millisecond) // the refused requests published nothing
}

func TestPublishCaddyfile(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"rooms_publish {path.2}", `{"room":"{path.2}"}`},
		{"rooms_publish {\n room {query.room}\n hub chat\n max_size 4KiB\n}", `{"room":"{query.room}","hub":"chat","max_size":4096}`},
	} {
		var p PublishHandler
		if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tc.in)); err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if got, _ := json.Marshal(p); string(got) != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{
		"rooms_publish a b",
		"rooms_publish {\n max_size lots\n}",
		"rooms_publish {\n retries 3\n}",
	} {
		var p PublishHandler
		if err := p.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if err := (&PublishHandler{}).Validate(); err == nil {
		t.Error("no room: no error")
	}
}
