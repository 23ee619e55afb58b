package caddyrooms_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// TestE2EHandshakeFlood: 300 connections that send half a handshake and
// stall, and 300 that complete one and drop the socket at once, without a
// close frame, while two members talk. The members' round trips go on;
// the dropped WebSockets leave the room as their sockets end, and Caddy's
// read_header timeout closes the stalled handshakes; Caddy's RSS grows by
// less than 64 MiB meanwhile.
func TestE2EHandshakeFlood(t *testing.T) {
	c := testcaddy.Start(t, `{
	admin 127.0.0.1:{ADMIN}
	servers {
		timeouts {
			read_header 2s
		}
	}
}
:{PORT} {
	rooms /ws/* {
		room {path.1}
	}
}`)
	a := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	b := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	a.Expect("presence")
	baseRSS := rssKiB(t, c.PID(), "VmRSS")
	addr := fmt.Sprintf("127.0.0.1:%d", c.Port)

	const n = 300
	stalled := make([]net.Conn, 0, n)
	var flood sync.WaitGroup
	flood.Add(1)
	go func() { // complete handshakes, dropped at once
		defer flood.Done()
		for i := 0; i < n; i++ {
			if ws, _, err := wstest.TryDial(c.URL("ws")+"/ws/r", nil); err == nil {
				_ = ws.NetConn().Close()
			}
		}
	}()
	for i := 0; i < n; i++ {
		conn, err := net.DialTimeout("tcp", addr, wstest.Timeout)
		if err != nil {
			t.Fatalf("stalled handshake %d: %v", i, err)
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "GET /ws/r HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\n")
		stalled = append(stalled, conn)
		if i%30 == 0 { // the members' round trips go on meanwhile
			a.Send(map[string]any{"type": "publish", "room": "r", "data": i})
			b.ExpectSkipping("message", "presence")
		}
	}
	flood.Wait()
	start := time.Now()
	for _, conn := range stalled { // Caddy gives up on each within read_header
		_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		if _, err := io.Copy(io.Discard, conn); err != nil {
			t.Fatalf("a stalled handshake was not closed within 15s: %v", err)
		}
	}
	t.Logf("stalled handshakes closed %v after the flood", time.Since(start).Round(time.Millisecond))
	for members := -1; members != 2; {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("room r has %d members, want the 2 that stayed", members)
		}
		members = adminMembers(t, c, "r")
		time.Sleep(50 * time.Millisecond)
	}
	grown := rssKiB(t, c.PID(), "VmHWM") - baseRSS
	t.Logf("Caddy's peak RSS grew by %d KiB during the flood", grown)
	if grown > 64<<10 {
		t.Fatalf("Caddy's peak RSS grew by %d KiB, bound 64 MiB", grown)
	}
	a.Send(map[string]any{"type": "publish", "room": "r", "data": "after"})
	b.ExpectSkipping("message", "presence")
}

// adminMembers is the member count of room from the admin API.
func adminMembers(t *testing.T, c *testcaddy.Caddy, room string) int {
	t.Helper()
	resp, err := testcaddy.Get(c.AdminURL() + "/rooms/" + room)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct{ Members int }
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil && !strings.Contains(err.Error(), "EOF") {
		t.Fatal(err)
	}
	return d.Members
}

// TestE2EBadHandshakeJoinsNothing: a handshake gorilla refuses (here a
// wrong Sec-WebSocket-Version) is answered with HTTP 400 and is never a
// member: the room's members see no presence for it.
func TestE2EBadHandshakeJoinsNothing(t *testing.T) {
	c := testcaddy.Start(t, `:{PORT} {
	rooms /ws/* {
		room {path.1}
	}
}`)
	a := wstest.Join(t, c.URL("ws")+"/ws/r", true)
	req, err := http.NewRequest(http.MethodGet, c.URL("http")+"/ws/r", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "12")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := (&http.Client{Timeout: wstest.Timeout}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("HTTP %d, want 400", resp.StatusCode)
	}
	a.Send(map[string]any{"type": "publish", "room": "r", "data": "alone"})
	if f := a.Next(); f.Type() != "message" {
		t.Fatalf("got %v before my message: the bad handshake was a member", f)
	}
}
