package hub_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// TestAdmittedBeforeTheAnswer: a connection is in its route's room before
// its handshake is answered, so a message published in between reaches it,
// first for raw (which gets no welcome to wait for), after `welcome` and
// `joined` for json.
func TestAdmittedBeforeTheAnswer(t *testing.T) {
	for _, tt := range []struct {
		proto hub.Protocol
		want  []string // the first frames, by prefix
	}{
		{hub.Raw, []string{`"early"`}},
		{hub.JSON, []string{`{"type":"welcome"`, `{"type":"joined"`, `{"type":"message","room":"r"`}},
	} {
		h := hub.New(hub.Options{})
		cfg := hub.Config{Protocol: tt.proto}.WithDefaults()
		up := websocket.Upgrader{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := h.Admit(hub.Conn{RemoteAddr: r.RemoteAddr, Room: "r"}, &cfg)
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			h.Publish("r", json.RawMessage(`"early"`))
			ws, err := up.Upgrade(w, r, nil)
			if err != nil {
				h.Abandon(c)
				return
			}
			h.Start(c, ws.NetConn())
		}))
		c := wstest.Dial(t, "ws"+strings.TrimPrefix(srv.URL, "http")+"/r", nil)
		for _, want := range tt.want {
			_, b, err := c.Read(wstest.Timeout)
			if err != nil || !strings.HasPrefix(string(b), want) {
				t.Fatalf("protocol %v: got %q %v, want %s", tt.proto, b, err, want)
			}
		}
		_ = c.Conn.Close()
		h.Close(hub.CloseGoingAway, "test over", 5*time.Second)
		srv.Close()
	}
}

// maskedHeader is the header of a masked client frame of n payload bytes,
// with a zero mask: its payload goes on the wire as it is.
func maskedHeader(op byte, n int) []byte {
	b := []byte{0x80 | op, 0x80 | 127}
	b = binary.BigEndian.AppendUint64(b, uint64(n))
	return append(b, 0, 0, 0, 0)
}

// readClose reads c until it ends and returns the close error.
func readClose(c *wstest.Client, within time.Duration) error {
	for deadline := time.Now().Add(within); ; {
		if _, _, err := c.Read(time.Until(deadline)); err != nil {
			return err
		}
	}
}

// TestTricklingClientClosed: a client sending a 64 KiB message a byte at a
// time keeps its connection from looking silent, yet is closed with 1008
// "message too slow" once the message has taken ping_interval +
// pong_timeout, while its room goes on working meanwhile.
func TestTricklingClientClosed(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{PingInterval: time.Second, PongTimeout: time.Second}, o)
		a := wstest.Join(t, s.url("/r"), true)
		b := wstest.Join(t, s.url("/r"), true)
		slow := wstest.Join(t, s.url("/r"), true)
		slow.Conn.SetPingHandler(func(string) error { return nil }) // no pong amid the trickle
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			conn := slow.Conn.NetConn()
			_, _ = conn.Write(maskedHeader(0x1, 64<<10))
			for range time.Tick(20 * time.Millisecond) {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := conn.Write([]byte("x")); err != nil {
					return
				}
			}
		}()
		closed := make(chan error, 1)
		go func() { closed <- readClose(slow, 15*time.Second) }()
		start := time.Now()
		for i := 0; ; i++ {
			select {
			case err := <-closed:
				var ce *websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != hub.ClosePolicy || ce.Text != "message too slow" {
					t.Fatalf("trickler ended with %v, want 1008 message too slow", err)
				}
				t.Logf("closed after %v; the room delivered %d messages meanwhile", time.Since(start), i)
				return
			default:
			}
			a.Send(map[string]any{"type": "publish", "room": "r", "data": i})
			for _, c := range []*wstest.Client{a, b} {
				c.ExpectSkipping("message", "ack", "presence")
			}
		}
	})
}

// TestVanishedMemberOf100Rooms: a client in 100 rooms that goes away
// without a close frame leaves all of them, at once when its socket ends,
// and within ping_interval + pong_timeout when it merely falls silent (its
// socket is closed write_timeout + 2s later at the latest); meanwhile what
// is queued for it stays within its send queue.
func TestVanishedMemberOf100Rooms(t *testing.T) {
	for _, how := range []string{"socket closed", "silent"} {
		t.Run(how, func(t *testing.T) {
			cfg := hub.Config{PingInterval: 300 * time.Millisecond, PongTimeout: 300 * time.Millisecond, SendQueue: 64 << 10, WriteTimeout: time.Second}
			s := newServer(t, cfg, readMode{})
			gone := wstest.Join(t, s.url("/"), false)
			for i := 0; i < 100; i++ {
				gone.Send(map[string]any{"type": "join", "room": fmt.Sprint("room", i)})
				gone.ExpectSkipping("joined", "presence")
			}
			watcher := wstest.Join(t, s.url("/room99"), true)
			if how == "socket closed" {
				_ = gone.Conn.NetConn().Close()
			}
			start := time.Now()
			for inRoom0(s.hub) {
				if time.Since(start) > 10*time.Second {
					t.Fatal("still in its rooms after 10s")
				}
				for i := 0; i < 100; i++ {
					s.hub.Publish(fmt.Sprint("room", i), json.RawMessage(`"`+strings.Repeat("z", 100)+`"`))
				}
				if c := s.hub.Client(gone.ID); c != nil && c.QueuedBytes() > 64<<10+2<<10 {
					t.Fatalf("%d bytes queued, budget 64 KiB", c.QueuedBytes())
				}
				watcher.ExpectSkipping("message", "presence")
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("out of its rooms after %v", time.Since(start))
			for i := 0; i < 100; i++ {
				if d, ok, _ := s.hub.Room(fmt.Sprint("room", i)); ok && i != 99 {
					t.Fatalf("room%d still has %d members", i, d.Members)
				}
			}
			for s.hub.Client(gone.ID) != nil {
				if time.Since(start) > 10*time.Second {
					t.Fatal("still connected after 10s")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// inRoom0 reports whether room0, which only the vanishing client joined,
// still exists.
func inRoom0(h *hub.Hub) bool {
	_, ok, _ := h.Room("room0")
	return ok
}
