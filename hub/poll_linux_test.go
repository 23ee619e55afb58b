package hub

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// TestPollerTakesSockets checks which connections the poller reads: plain
// TCP and TLS over TCP, unless the hub is told not to poll.
func TestPollerTakesSockets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tls    bool
		noPoll bool
		polled bool
	}{
		{"tcp", false, false, true},
		{"tls", true, false, true},
		{"tcp, NoPoll", false, true, false},
		{"tls, NoPoll", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := New(Options{NoPoll: tc.noPoll})
			cfg := Config{}.WithDefaults()
			up := websocket.Upgrader{}
			handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if ws, err := up.Upgrade(w, r, nil); err == nil {
					_ = h.Serve(Conn{Net: ws.NetConn()}, &cfg)
				}
			})
			srv := httptest.NewUnstartedServer(handler)
			if tc.tls {
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			defer h.Close(CloseGoingAway, "", 5*time.Second)

			c := wstest.Join(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/", false)
			cl := h.Client(c.ID)
			if cl == nil {
				t.Fatalf("client %s not in the hub", c.ID)
			}
			cl.mu.Lock()
			polled := cl.polled != nil
			cl.mu.Unlock()
			if polled != tc.polled {
				t.Fatalf("polled %v, want %v", polled, tc.polled)
			}
			c.Send(map[string]any{"type": "join", "room": "r", "id": "1"})
			c.Expect("joined")
			c.Conn.Close() // before the hub closes, which waits for it
		})
	}
}
