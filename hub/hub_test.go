package hub_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// server serves a hub over httptest: /ROOM joins ROOM on connect, / joins
// nothing.
type server struct {
	*httptest.Server
	hub *hub.Hub
	tls bool
}

// readMode is how the hub reads connections in a test: the hub's options,
// and whether the server speaks TLS.
type readMode struct {
	hub.Options
	TLS bool
}

func newServer(t *testing.T, cfg hub.Config, m readMode) *server {
	t.Helper()
	h := hub.New(m.Options)
	c := cfg.WithDefaults()
	up := websocket.Upgrader{}
	s := &server{hub: h, tls: m.TLS}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		_ = h.Serve(hub.Conn{Net: ws.NetConn(), RemoteAddr: r.RemoteAddr, Room: strings.TrimPrefix(r.URL.Path, "/"), User: r.URL.Query().Get("user")}, &c)
	})
	if m.TLS {
		s.Server = httptest.NewTLSServer(handler)
	} else {
		s.Server = httptest.NewServer(handler)
	}
	t.Cleanup(func() {
		h.Close(hub.CloseGoingAway, "test over", 5*time.Second)
		s.Close()
	})
	return s
}

// eachReadMode runs test with the hub reading connections through its
// poller, plain and under TLS, and on a goroutine per connection.
func eachReadMode(t *testing.T, test func(t *testing.T, m readMode)) {
	for _, m := range []struct {
		name string
		mode readMode
	}{
		{"poller", readMode{}},
		{"poller-tls", readMode{TLS: true}},
		{"goroutine", readMode{Options: hub.Options{NoPoll: true}}},
	} {
		t.Run(m.name, func(t *testing.T) { test(t, m.mode) })
	}
}

func (s *server) url(path string) string { return "ws" + strings.TrimPrefix(s.URL, "http") + path }

func TestJoinPublishLeave(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{}, o)
		a := wstest.Join(t, s.url("/"), false)
		b := wstest.Join(t, s.url("/"), false)

		a.Send(map[string]any{"type": "join", "room": "r", "id": "1"})
		if f := a.Expect("joined"); f.Str("room") != "r" || f.Num("members") != 1 || f.Str("id") != "1" {
			t.Fatalf("joined: %v", f)
		}
		b.Send(map[string]any{"type": "join", "room": "r", "id": "2"})
		if f := b.Expect("joined"); f.Num("members") != 2 {
			t.Fatalf("joined: %v", f)
		}
		if f := a.Expect("presence"); f.Str("event") != "join" || f.Str("client") != b.ID || f.Num("members") != 2 {
			t.Fatalf("presence: %v", f)
		}

		b.Send(map[string]any{"type": "publish", "room": "r", "data": map[string]any{"x": 1}, "id": "p"})
		for _, c := range []*wstest.Client{a, b} {
			f := c.Expect("message")
			if f.Str("from") != b.ID || f.Num("seq") != 1 || fmt.Sprint(f["data"]) != "map[x:1]" {
				t.Fatalf("message: %v", f)
			}
		}
		if f := b.Expect("ack"); f.Str("id") != "p" || f.Num("seq") != 1 {
			t.Fatalf("ack: %v", f)
		}

		b.Send(map[string]any{"type": "leave", "room": "r", "id": "3"})
		if f := b.Expect("left"); f.Str("room") != "r" || f.Str("id") != "3" {
			t.Fatalf("left: %v", f)
		}
		if f := a.Expect("presence"); f.Str("event") != "leave" || f.Num("members") != 1 {
			t.Fatalf("presence: %v", f)
		}
		b.Send(map[string]any{"type": "publish", "room": "r", "data": 1, "id": "4"})
		b.ExpectError(hub.CodeNotMember)

		d, ok, _ := s.hub.Room("r")
		if !ok || d.Members != 1 || d.Seq != 1 || d.Clients[0].ID != a.ID {
			t.Fatalf("room detail: %+v %v", d, ok)
		}
		p, ok, err := s.hub.Publish("r", []byte(`"from the server"`))
		if err != nil || !ok || p.Seq != 2 || p.Delivered != 1 {
			t.Fatalf("server publish: %+v %v %v", p, ok, err)
		}
		if f := a.Expect("message"); f.Str("from") != "" || f["data"] != "from the server" || f.Num("seq") != 2 {
			t.Fatalf("server message: %v", f)
		}
		if _, ok, err := s.hub.Publish("nobody-here", []byte(`1`)); ok || err != nil {
			t.Fatal("publish into a room with no members succeeded")
		}
	})
}

func TestBadFrames(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{}, o)
		c := wstest.Join(t, s.url("/"), false)
		cases := []struct {
			name  string
			op    int
			frame string
			code  string
		}{
			{"not JSON", websocket.TextMessage, `hello`, hub.CodeBadJSON},
			{"not an object", websocket.TextMessage, `[1,2]`, hub.CodeBadJSON},
			{"binary", websocket.BinaryMessage, `{"type":"join","room":"r"}`, hub.CodeBinaryFrame},
			{"no type", websocket.TextMessage, `{"room":"r"}`, hub.CodeUnknownType},
			{"unknown type", websocket.TextMessage, `{"type":"dance","room":"r","id":"9"}`, hub.CodeUnknownType},
			{"join without room", websocket.TextMessage, `{"type":"join"}`, hub.CodeMissingRoom},
			{"publish without room", websocket.TextMessage, `{"type":"publish","data":1}`, hub.CodeMissingRoom},
			{"publish without data", websocket.TextMessage, `{"type":"publish","room":"r"}`, hub.CodeMissingData},
			{"room too long", websocket.TextMessage, `{"type":"join","room":"` + strings.Repeat("x", 300) + `"}`, hub.CodeInvalidRoom},
			{"leave a room not joined", websocket.TextMessage, `{"type":"leave","room":"r"}`, hub.CodeNotMember},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c.SendRaw(tc.op, []byte(tc.frame))
				f := c.ExpectError(tc.code)
				if f.Str("message") == "" {
					t.Fatalf("error without a message: %v", f)
				}
			})
		}
		// still open and working
		c.Send(map[string]any{"type": "join", "room": "ok", "id": "x"})
		c.Expect("joined")
	})
}

func TestOneOrderUnderConcurrentPublishers(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{}, o)
		const publishers, each = 8, 100
		readers := make([]*wstest.Client, 4)
		for i := range readers {
			readers[i] = wstest.Join(t, s.url("/r"), true)
		}
		pubs := make([]*wstest.Client, publishers)
		for i := range pubs {
			pubs[i] = wstest.Join(t, s.url("/r"), true)
		}
		var wg sync.WaitGroup
		for i, p := range pubs {
			wg.Add(1)
			go func(i int, p *wstest.Client) {
				defer wg.Done()
				for j := 0; j < each; j++ {
					_ = p.Conn.WriteJSON(map[string]any{"type": "publish", "room": "r", "data": fmt.Sprintf("%d-%d", i, j)})
				}
			}(i, p)
		}
		wg.Wait()
		var first []string
		for i, r := range readers {
			var got []string
			for len(got) < publishers*each {
				f := r.Next()
				if f.Type() != "message" {
					continue
				}
				if f.Num("seq") != int64(len(got)+1) {
					t.Fatalf("reader %d: seq %d after %d messages", i, f.Num("seq"), len(got))
				}
				got = append(got, f.Str("data"))
			}
			if first == nil {
				first = got
				continue
			}
			for k := range got {
				if got[k] != first[k] {
					t.Fatalf("reader %d differs from reader 0 at %d: %s vs %s", i, k, got[k], first[k])
				}
			}
		}
	})
}

func TestSlowClientDoesNotDelayOthers(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		for _, policy := range []hub.SlowClientPolicy{hub.Disconnect, hub.DropOldest} {
			t.Run(fmt.Sprint(policy), func(t *testing.T) {
				// write_timeout outlasts the lockstep below on a loaded machine: the
				// cut-off's close frame waits behind the write in flight, which
				// the slow client takes only when it reads at the end
				s := newServer(t, hub.Config{SendQueue: 64 << 10, WriteTimeout: time.Minute, SlowClient: policy}, o)
				slow := wstest.Join(t, s.url("/r"), true) // never reads from here on
				fast := wstest.Join(t, s.url("/r"), true)
				pub := wstest.Join(t, s.url("/r"), true)
				payload := strings.Repeat("x", 8<<10)
				const n = 2000 // 16 MB: far more than the socket buffers hold
				// in lockstep: publish, the fast member reads it, the publisher
				// reads its copy and its ack. Were the room waiting for the slow
				// member, this would stall once its socket buffers are full.
				next := func(c *wstest.Client, prefix string) {
					for {
						_, b, err := c.Read(10 * time.Second)
						if err != nil {
							t.Fatalf("%s: %v", c, err)
						}
						if strings.HasPrefix(string(b), prefix) {
							return
						}
					}
				}
				for i := 0; i < n; i++ {
					pub.Send(map[string]any{"type": "publish", "room": "r", "data": payload})
					next(fast, `{"type":"message"`)
					next(pub, `{"type":"ack"`)
				}
				// the slow client's memory is bounded by its queue
				if c := s.hub.Client(slow.ID); c != nil && c.QueuedBytes() > 64<<10+len(payload)+64 {
					t.Fatalf("slow client has %d bytes queued, budget 64 KiB", c.QueuedBytes())
				}
				d, _, _ := s.hub.Room("r")
				switch policy {
				case hub.Disconnect: // cut off, out of the room at once, and told why
					if d.Members != 2 || len(d.Clients) != 2 || d.Clients[0].ID == slow.ID || d.Clients[1].ID == slow.ID {
						t.Fatalf("slow client still in the room: %+v", d)
					}
					slow.ExpectClose(hub.ClosePolicy, "send queue full")
				case hub.DropOldest: // still a member, told of every message it lost
					if d.Members != 3 {
						t.Fatalf("slow client left the room: %+v", d)
					}
					received, dropped := slow.ExpectDroppedOldest("r", n)
					if dropped == 0 || received+dropped != n {
						t.Fatalf("slow client: %d received + %d dropped, want %d with some dropped", received, dropped, n)
					}
				}
			})
		}
	})
}

func TestClientIDs(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{}, o)
		seen := map[string]bool{}
		for i := 0; i < 20; i++ {
			c := wstest.Join(t, s.url("/"), false)
			if len(c.ID) != 16 || strings.Trim(c.ID, "abcdefghijklmnopqrstuvwxyz234567") != "" || seen[c.ID] {
				t.Fatalf("id %q: want 16 new characters of [a-z2-7]", c.ID)
			}
			seen[c.ID] = true
		}
	})
}

// TestWriteTimeoutClosesStalledClient: a client that stops reading is not
// cut off under drop_oldest, but a write that cannot finish within
// write_timeout closes it, and the room sees it leave, in both read modes.
func TestWriteTimeoutClosesStalledClient(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{SendQueue: 64 << 10, SlowClient: hub.DropOldest, WriteTimeout: time.Second}, o)
		stalled := wstest.Join(t, s.url("/r"), true)
		pub := wstest.Join(t, s.url("/r"), true)
		payload := strings.Repeat("w", 32<<10)
		start := time.Now()
		for i := 0; ; i++ {
			if time.Since(start) > 10*time.Second {
				t.Fatal("the stalled client was not closed within 10s")
			}
			pub.Send(map[string]any{"type": "publish", "room": "r", "data": payload})
			left := false
			for got := false; !got; {
				f := pub.Next()
				switch {
				case f.Type() == "ack":
					got = true
				case f.Type() == "presence" && f.Str("event") == "leave" && f.Str("client") == stalled.ID:
					left = true
				}
			}
			if left {
				t.Logf("closed after %d messages", i+1)
				return
			}
		}
	})
}
