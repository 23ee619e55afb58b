package caddyrooms_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

func TestE2EOrigins(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	rooms /same
	rooms /listed {
		origins https://app.example http://other.example:8080
	}
	rooms /any {
		origins *
	}
}`)
	own := fmt.Sprintf("http://127.0.0.1:%d", c.Port)
	cases := []struct {
		path, origin string
		want         int // HTTP status of the handshake
	}{
		{"/same", "", http.StatusSwitchingProtocols},
		{"/same", own, http.StatusSwitchingProtocols},
		{"/same", "https://evil.example", http.StatusForbidden},
		{"/listed", "https://app.example", http.StatusSwitchingProtocols},
		{"/listed", "http://other.example:8080", http.StatusSwitchingProtocols},
		{"/listed", own, http.StatusForbidden},
		{"/listed", "https://app.example.evil", http.StatusForbidden},
		{"/listed", "", http.StatusSwitchingProtocols},
		{"/any", "https://whoever.example", http.StatusSwitchingProtocols},
	}
	for _, tc := range cases {
		t.Run(tc.path+" "+tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			conn, resp, err := wstest.TryDial(c.URL("ws")+tc.path, h)
			if conn != nil {
				conn.Close()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tc.want, err)
			}
		})
	}
}

// TestE2EEncodeBeforeRooms: encode wraps the response writer, which then
// only offers Unwrap; the handshake must still hijack the connection.
func TestE2EEncodeBeforeRooms(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, `:{PORT} {
	route {
		encode gzip zstd {
			minimum_length 16
		}
		rooms /ws/* {
			room {path.1}
		}
		respond "a plain page, compressed"
	}
}`)
	h := http.Header{"Accept-Encoding": {"gzip"}}
	a := wstest.Dial(t, c.URL("ws")+"/ws/r", h)
	a.Expect("welcome")
	a.Expect("joined")
	a.Send(map[string]any{"type": "publish", "room": "r", "data": "through encode"})
	if f := a.Expect("message"); f.Str("data") != "through encode" {
		t.Fatalf("message: %v", f)
	}
	req, _ := http.NewRequest("GET", c.URL("http")+"/ws/r", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("the plain page was not encoded: %v", resp.Header)
	}
}
