package caddyrooms_test

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// TestE2EIdleConnectionsHoldNoGoroutine checks, in a real Caddy, that
// WebSockets over HTTP/1.1, plain and over Caddy's TLS, are read by the
// hub's poller: opening 200 idle connections leaves Caddy's goroutine
// count (from the admin endpoint's /debug/pprof) about where it was, where
// a goroutine per connection would add 200. The connections still work
// afterwards.
func TestE2EIdleConnectionsHoldNoGoroutine(t *testing.T) {
	t.Run("http", func(t *testing.T) {
		c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
	}
}`)
		checkIdleGoroutines(t, c, c.URL("ws")+"/ws/r")
	})
	t.Run("https", func(t *testing.T) {
		c, _ := stStartCaddy(t, false, stConfig("", ""))
		checkIdleGoroutines(t, c, "wss://"+stAddr(c)+"/ws/r")
	})
}

func checkIdleGoroutines(t *testing.T, c *testcaddy.Caddy, url string) {
	first := wstest.Join(t, url, true) // the poller is started
	before := settledGoroutines(t, c, 1<<30)

	const n = 200
	clients := make([]*wstest.Client, n)
	for i := range clients {
		clients[i] = wstest.Join(t, url, true)
	}
	after := settledGoroutines(t, c, before+10)
	if after-before >= n/4 {
		t.Fatalf("%d idle connections added %d goroutines to Caddy (%d -> %d)", n, after-before, before, after)
	}
	t.Logf("%d idle connections: Caddy's goroutines %d -> %d", n, before, after)

	first.Send(map[string]any{"type": "publish", "room": "r", "data": "still read"})
	for _, cl := range append(clients, first) {
		if f := cl.ExpectSkipping("message", "presence", "presence_diff"); f.Str("data") != "still read" {
			t.Fatalf("message: %v", f)
		}
	}
}

// settledGoroutines reads Caddy's goroutine count until it is below want,
// for up to 5 s (the goroutines that set connections up end on their own),
// and returns the last count read.
func settledGoroutines(t *testing.T, c *testcaddy.Caddy, want int) int {
	t.Helper()
	var n int
	for deadline := time.Now().Add(5 * time.Second); ; {
		n = goroutines(t, c)
		if n < want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// goroutines is Caddy's goroutine count, from its admin endpoint.
func goroutines(t *testing.T, c *testcaddy.Caddy) int {
	t.Helper()
	resp, err := testcaddy.Get(c.AdminURL() + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("goroutine profile: %s", resp.Status)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	var n int
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "goroutine profile: total %d", &n); err != nil {
		t.Fatalf("goroutine profile %q: %v", line, err)
	}
	return n
}
