package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeRooms is a tiny in-process room server speaking the json protocol
// (/ws/ROOM) and the raw protocol (/raw/ROOM), enough to run the load client
// end to end.
type fakeRooms struct {
	mu      sync.Mutex
	members map[string]map[*fakeMember]bool
	seq     map[string]int
	nextID  int
}

type fakeMember struct {
	id  string
	mu  sync.Mutex
	ws  *websocket.Conn
	raw bool
}

func (m *fakeMember) send(b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ws.WriteMessage(websocket.TextMessage, b)
}

func (f *fakeRooms) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 2 {
		http.NotFound(w, r)
		return
	}
	ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	room := parts[1]
	f.mu.Lock()
	f.nextID++
	m := &fakeMember{id: "c" + string(rune('0'+f.nextID%10)), ws: ws, raw: parts[0] == "raw"}
	others := []*fakeMember{}
	for o := range f.members[room] {
		others = append(others, o)
	}
	if f.members[room] == nil {
		f.members[room] = map[*fakeMember]bool{}
	}
	f.members[room][m] = true
	n := len(f.members[room])
	f.mu.Unlock()
	if !m.raw {
		m.send([]byte(`{"type":"welcome","client":"` + m.id + `"}`))
		m.send([]byte(`{"type":"joined","room":"` + room + `","members":` + itoa(n) + `}`))
		for _, o := range others {
			o.send([]byte(`{"type":"presence","room":"` + room + `","event":"join","client":"` + m.id + `","members":` + itoa(n) + `}`))
		}
	}
	defer func() {
		f.mu.Lock()
		delete(f.members[room], m)
		f.mu.Unlock()
		ws.Close()
	}()
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			return
		}
		f.mu.Lock()
		var out []byte
		if m.raw {
			out = b
		} else {
			var in struct {
				Data json.RawMessage `json:"data"`
			}
			json.Unmarshal(b, &in)
			f.seq[room]++
			out, _ = json.Marshal(map[string]any{"type": "message", "room": room, "from": m.id, "data": in.Data, "seq": f.seq[room]})
			m.send([]byte(`{"type":"ack","seq":` + itoa(f.seq[room]) + `}`))
		}
		for o := range f.members[room] {
			if o != m || !m.raw {
				o.send(out)
			}
		}
		f.mu.Unlock()
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestRunLoadEndToEnd runs the load client against the fake server: every
// owed delivery arrives, nothing is lost, latencies are recorded.
func TestRunLoadEndToEnd(t *testing.T) {
	for _, tt := range []struct{ target, reader string }{
		{"json", "epoll"}, {"json", "gorilla"}, {"raw", "epoll"},
	} {
		t.Run(tt.target+"/"+tt.reader, func(t *testing.T) {
			srv := httptest.NewServer(&fakeRooms{members: map[string]map[*fakeMember]bool{}, seq: map[string]int{}})
			defer srv.Close()
			cfg, err := parseFlags([]string{
				"-target", tt.target, "-reader", tt.reader, "-url", "ws" + strings.TrimPrefix(srv.URL, "http"),
				"-clients", "30", "-rooms", "3", "-rate", "100", "-size", "200",
				"-warmup", "200ms", "-duration", "500ms", "-q",
			})
			if err != nil {
				t.Fatal(err)
			}
			res, err := runLoad(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			perPublish := uint64(10) // members per room, sender included
			if tt.target == "raw" {
				perPublish = 9
			}
			if res.Connected != 30 || res.Publishers != 3 {
				t.Errorf("connected %d, publishers %d", res.Connected, res.Publishers)
			}
			if res.Published == 0 || res.Expected != res.Published*perPublish {
				t.Errorf("published %d, expected %d deliveries", res.Published, res.Expected)
			}
			if res.Lost != 0 || res.Delivered != res.Expected || res.Gaps != 0 || res.Reorders != 0 {
				t.Errorf("delivered %d of %d, lost %d, gaps %d, reorders %d, first error %q",
					res.Delivered, res.Expected, res.Lost, res.Gaps, res.Reorders, res.FirstError)
			}
			if res.P50ms <= 0 || res.MaxMs < res.P99ms {
				t.Errorf("latency p50 %v p99 %v max %v", res.P50ms, res.P99ms, res.MaxMs)
			}
		})
	}
}

// TestSlowConsumerIsNotMeasured checks that -slow clients are left out of
// the owed deliveries and do not read.
func TestSlowConsumerIsNotMeasured(t *testing.T) {
	srv := httptest.NewServer(&fakeRooms{members: map[string]map[*fakeMember]bool{}, seq: map[string]int{}})
	defer srv.Close()
	cfg, err := parseFlags([]string{
		"-target", "json", "-url", "ws" + strings.TrimPrefix(srv.URL, "http"),
		"-clients", "10", "-rooms", "1", "-rate", "50", "-slow", "2",
		"-warmup", "100ms", "-duration", "300ms", "-q",
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := runLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Expected != res.Published*8 || res.Lost != 0 {
		t.Errorf("published %d, expected %d (want 8 fast members each), lost %d", res.Published, res.Expected, res.Lost)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("run took %v", time.Since(start))
	}
}

// TestRunFill fills one room of the fake server: json members get the
// fake's presence frames (one per later joiner), raw members get none.
func TestRunFill(t *testing.T) {
	for _, tt := range []struct {
		target    string
		maxFrames uint64
	}{
		{"json", 29 * 30 / 2}, {"raw", 0},
	} {
		t.Run(tt.target, func(t *testing.T) {
			srv := httptest.NewServer(&fakeRooms{members: map[string]map[*fakeMember]bool{}, seq: map[string]int{}})
			defer srv.Close()
			cfg, err := parseFlags([]string{
				"-fill", "-target", tt.target, "-path", "/" + tt.target + "/",
				"-url", "ws" + strings.TrimPrefix(srv.URL, "http"),
				"-clients", "30", "-rooms", "1", "-warmup", "200ms", "-q",
			})
			if err != nil {
				t.Fatal(err)
			}
			res, err := runFill(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Connected != 30 || res.ServerFrames > tt.maxFrames || (tt.maxFrames > 0) != (res.ServerFrames > 0) {
				t.Errorf("connected %d, %d frames (at most %d)", res.Connected, res.ServerFrames, tt.maxFrames)
			}
			if res.ConnectSeconds <= 0 || res.SettledSeconds < res.ConnectSeconds {
				t.Errorf("joined in %vs, settled at %vs", res.ConnectSeconds, res.SettledSeconds)
			}
		})
	}
	if _, err := parseFlags([]string{"-fill", "-idle", "-pid", "1"}); err == nil {
		t.Error("-fill with -idle was accepted")
	}
}
