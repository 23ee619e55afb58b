package hub

import (
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/internal/wsframe"
)

// discardConn is a net.Conn that accepts every write at once.
type discardConn struct {
	net.Conn // nil: only the methods below are used
	written  atomic.Int64
}

func (d *discardConn) Write(p []byte) (int, error)      { d.written.Add(int64(len(p))); return len(p), nil }
func (d *discardConn) Close() error                     { return nil }
func (d *discardConn) SetWriteDeadline(time.Time) error { return nil }
func (d *discardConn) SetReadDeadline(time.Time) error  { return nil }

// benchRoom makes a hub with one room of n members on discarding
// connections, with history on (the default) or off.
func benchRoom(b testing.TB, n int, history bool) (*Hub, []*Client) {
	h := New(Options{})
	cfg := Config{SendQueue: 1 << 30, MaxMembers: 0, NoPresence: true}
	if !history {
		cfg.HistorySize = -1
	}
	cfg = cfg.WithDefaults()
	clients := make([]*Client, n)
	for i := range clients {
		clients[i] = newClient(h, &cfg, &discardConn{}, "", "", "bench")
		if err := h.join(clients[i], "room", ""); err != nil {
			b.Fatal(err)
		}
	}
	waitWritten(clients)
	return h, clients
}

// waitWritten waits until every client's queue is written; it panics
// after a minute, so that a writer that never finishes fails the test
// rather than hangs it.
func waitWritten(clients []*Client) {
	deadline := time.Now().Add(time.Minute)
	for _, c := range clients {
		for i := 0; c.Queued() > 0 || c.isWriting(); i++ {
			if i%1024 == 0 && time.Now().After(deadline) {
				panic("client " + c.ID + " is still writing after a minute")
			}
			runtime.Gosched()
		}
	}
}

func (c *Client) isWriting() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writing
}

// benchHistory names the history settings the benchmarks compare, each
// round of -count running both, one after the other.
var benchHistory = []struct {
	name string
	on   bool
}{{"history=on", true}, {"history=off", false}}

// BenchmarkPublish is one server publish fanned out to a room, the writes
// included: deliveries/s and allocations per delivery, with history on (the
// default) and off.
func BenchmarkPublish(b *testing.B) {
	data := []byte(`{"text":"a hundred bytes of payload, more or less, to look like a chat message in a room","n":1}`)
	for _, n := range []int{1, 100, 10000} {
		for _, hist := range benchHistory {
			b.Run(fmt.Sprintf("members=%d/%s", n, hist.name), func(b *testing.B) {
				benchPublish(b, n, hist.on, data)
			})
		}
	}
}

func benchPublish(b *testing.B, n int, history bool, data []byte) {
	h, clients := benchRoom(b, n, history)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p, ok, err := h.Publish("room", data); err != nil || !ok || p.Delivered != n {
			b.Fatalf("delivered %+v of %d: %v %v", p, n, ok, err)
		}
	}
	waitWritten(clients)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	deliveries := float64(b.N) * float64(n)
	b.ReportMetric(deliveries/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/deliveries, "allocs/delivery")
}

// BenchmarkJoinLeave is join/leave churn: one connection joining and
// leaving a room of 100 members, presence on: one event per join and leave
// (presence_list above the room's size), and the list in `joined`.
func BenchmarkJoinLeave(b *testing.B) {
	h, clients := benchRoom(b, 100, true)
	cfg := Config{SendQueue: 1 << 30, PresenceList: 1000}.WithDefaults()
	for _, c := range clients {
		c.cfg = &cfg // presence on for the members, so churn costs what it does
	}
	c := newClient(h, &cfg, &discardConn{}, "", "", "bench")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := h.join(c, "room", ""); err != nil {
			b.Fatal(err)
		}
		if err := h.leave(c, "room", ""); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	waitWritten(clients)
}

// BenchmarkClientPublish is a member publishing into a room of 100, the
// whole way its frame goes: the masked client frame decoded (wsdecode), the
// rate limit checked, the JSON parsed and dispatched, the message fanned
// out and the ack queued, the writes included; with history on and off.
func BenchmarkClientPublish(b *testing.B) {
	for _, hist := range benchHistory {
		b.Run(hist.name, func(b *testing.B) { benchClientPublish(b, hist.on) })
	}
}

func benchClientPublish(b *testing.B, history bool) {
	h, clients := benchRoom(b, 100, history)
	pubCfg := Config{SendQueue: 1 << 30, NoPresence: true, RateLimit: 1e12, RateBurst: 1 << 30}.WithDefaults()
	pub := clients[0]
	pub.cfg = &pubCfg
	r := newReader(pub)
	if r.limiter == nil {
		b.Fatal("no rate limiter: the benchmark would skip it")
	}
	frame := benchClientFrame([]byte(`{"type":"publish","room":"room","data":{"text":"hello"},"id":"p"}`))
	buf := make([]byte, len(frame))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(buf, frame) // the reader unmasks in place
		if r.consume(buf) {
			b.Fatal("the reader ended")
		}
	}
	waitWritten(clients)
	b.StopTimer()
	if r.errors != 0 {
		b.Fatalf("%d publishes refused", r.errors)
	}
	if d, _, _ := h.Room("room"); d.Seq != uint64(b.N) {
		b.Fatalf("room seq %d after %d publishes", d.Seq, b.N)
	}
	b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "deliveries/s")
}

// benchClientFrame is payload as one masked text frame from a client.
func benchClientFrame(payload []byte) []byte {
	return wsframe.Frame{Fin: true, Op: opText, Payload: payload, Key: testKey}.Encode()
}

// BenchmarkClientBurst is one member's read of 64 KiB of publishes (606
// frames) handled at once, into a room of 50, with and without the
// reader's turns (turnMessages): deliveries/s, and queue-B, the largest
// queue of a member right after the read (the mean over the reads), which
// is what a burst alone can make a client's queue look like.
func BenchmarkClientBurst(b *testing.B) {
	frame := benchClientFrame([]byte(`{"type":"publish","room":"room","data":{"text":"a hundred bytes of payload, more or less, in a chat"}}`))
	burst := make([]byte, 0, 64<<10)
	for len(burst)+len(frame) <= cap(burst) {
		burst = append(burst, frame...)
	}
	frames := len(burst) / len(frame)
	for _, turn := range []int{0, 32} {
		b.Run(fmt.Sprintf("turn=%d", turn), func(b *testing.B) {
			defer func(old int) { turnMessages = old }(turnMessages)
			turnMessages = turn
			_, clients := benchRoom(b, 50, true)
			r := newReader(clients[0])
			buf := make([]byte, len(burst))
			total := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				copy(buf, burst)
				r.consume(buf)
				peak := 0
				for _, c := range clients[1:] {
					peak = max(peak, c.QueuedBytes())
				}
				total += peak
				waitWritten(clients)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*frames*50)/b.Elapsed().Seconds(), "deliveries/s")
			b.ReportMetric(float64(total)/float64(b.N), "queue-B")
		})
	}
}
