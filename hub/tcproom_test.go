package hub

import (
	"net"
	"runtime"
	"testing"
	"time"
)

// tcpRoom makes a hub with one room of n members, each on a real loopback
// TCP connection (so the writer takes its writev path) whose far end a
// goroutine reads and discards without allocating.
func tcpRoom(tb testing.TB, n int, cfg Config) (*Hub, []*Client) {
	tb.Helper()
	h, clients, _ := tcpRoomConns(tb, n, cfg, true)
	return h, clients
}

// tcpRoomConns is tcpRoom; it also returns each member's far end, which
// a goroutine reads and discards when discarding is set, else the test.
func tcpRoomConns(tb testing.TB, n int, cfg Config, discarding bool) (*Hub, []*Client, []net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	h := New(Options{})
	cfg = cfg.WithDefaults()
	clients, fars := make([]*Client, n), make([]net.Conn, n)
	for i := range clients {
		far, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatal(err)
		}
		near, err := ln.Accept()
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { far.Close(); near.Close() })
		fars[i] = far
		if discarding {
			go discard(far)
		}
		clients[i] = newClient(h, &cfg, near, "", "", "alloc")
		if err := h.join(clients[i], "room", ""); err != nil {
			tb.Fatal(err)
		}
	}
	waitWritten(clients)
	return h, clients, fars
}

// allocConfig is the members' config in the tests that count what a
// publish costs: no limit the publishes could meet.
var allocConfig = Config{SendQueue: 1 << 30, NoPresence: true, RateLimit: 1e12, RateBurst: 1 << 30}

// discard reads c until it fails, into one buffer.
func discard(c net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		if _, err := c.Read(buf); err != nil {
			return // closed at the test's end
		}
	}
}

// TestGoroutinesPerDelivery checks that a delivery's writer goroutine ends
// once the queue is written, so a burst leaves no goroutine behind.
func TestGoroutinesPerDelivery(t *testing.T) {
	h, clients := tcpRoom(t, 50, Config{SendQueue: 1 << 30, NoPresence: true})
	waitWritten(clients)
	before := runtime.NumGoroutine()
	for i := 0; i < 100; i++ {
		if p, ok, err := h.Publish("room", []byte(`{"n":1}`)); !ok || err != nil || p.Delivered != 50 {
			t.Fatalf("delivered %d of 50 (%v)", p.Delivered, err)
		}
	}
	waitWritten(clients)
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before 100 publishes to 50 members, %d after", before, after)
	}
}
