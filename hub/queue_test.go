package hub

import (
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// stuckClient is a client on one end of a pipe nobody reads: its first
// write blocks until write_timeout.
func stuckClient(t *testing.T, h *Hub, cfg *Config) *Client {
	t.Helper()
	server, peer := net.Pipe()
	t.Cleanup(func() { _ = peer.Close(); _ = server.Close() })
	return newClient(h, cfg, server, "", "", "test")
}

// TestSendQueueBudget: the queue is judged in bytes, the batch being
// written included; a frame always enters an empty queue, and the frame
// that would pass the budget cuts the client off (disconnect) or drops
// the oldest frames to make room (drop_oldest).
func TestSendQueueBudget(t *testing.T) {
	big := newFrame(opBinary, make([]byte, 8<<10)) // larger than the budget
	small := newFrame(opBinary, make([]byte, 1000))
	tests := []struct {
		policy      SlowClientPolicy
		frames      []*Frame
		wantQueued  bool // the last frame was taken
		wantClosing bool
		wantDropped int
	}{
		{Disconnect, []*Frame{big}, true, false, 0},
		{Disconnect, []*Frame{small, small, small, small}, true, false, 0},
		{Disconnect, []*Frame{small, small, small, small, small}, false, true, 0},
		{DropOldest, []*Frame{small, small, small, small, small}, true, false, 1},
		{DropOldest, []*Frame{small, big}, true, false, 1},
	}
	for i, tt := range tests {
		h := New(Options{})
		cfg := Config{SendQueue: 4096, SlowClient: tt.policy}.WithDefaults()
		c := newClient(h, &cfg, nil, "", "", "test") // not attached: frames only queue
		var ok bool
		for _, f := range tt.frames {
			ok = c.send(f)
		}
		c.mu.Lock()
		closing, dropped, queued := c.closing, c.dropped, c.queued
		c.mu.Unlock()
		if ok != tt.wantQueued || closing != tt.wantClosing || dropped != tt.wantDropped {
			t.Errorf("%d: queued %v closing %v dropped %d, want %v %v %d", i, ok, closing, dropped, tt.wantQueued, tt.wantClosing, tt.wantDropped)
		}
		if !closing && queued > 4096 && len(c.queue) > 1 {
			t.Errorf("%d: %d bytes queued over a budget of 4096", i, queued)
		}
	}
}

// TestSlowClientLoggedOnce: rooms publishing at once to a client that
// takes nothing cut it off once: one log line with the reason and the
// queued bytes, one metric, though many sends find its queue full and its
// stalled write times out afterwards.
func TestSlowClientLoggedOnce(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	h := New(Options{Logger: zap.New(core)})
	cfg := Config{SendQueue: 4096, WriteTimeout: 300 * time.Millisecond, NoPresence: true}.WithDefaults()
	c := stuckClient(t, h, &cfg)
	rooms := []string{"a", "b", "c", "d"}
	for _, r := range rooms {
		if err := h.join(c, r, ""); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, r := range rooms {
		wg.Add(1)
		go func(r string) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				h.Publish(r, []byte(`"`+strings.Repeat("x", 100)+`"`))
			}
		}(r)
	}
	wg.Wait()
	select {
	case <-c.done: // the stalled write timed out
	case <-time.After(10 * time.Second):
		t.Fatal("the writer did not give up within 10s")
	}
	var lines []observer.LoggedEntry
	for _, e := range logs.All() {
		if e.Level >= zap.WarnLevel {
			lines = append(lines, e)
		}
	}
	if len(lines) != 1 || lines[0].Message != "closing a slow client: send queue full" {
		t.Fatalf("warnings %v, want one cut-off", lines)
	}
	f := lines[0].ContextMap()
	if q, _ := f["queued_bytes"].(int64); q <= 0 || q > 4096 {
		t.Fatalf("queued_bytes %v", f["queued_bytes"])
	}
}

// TestStalledWriteCutsOff: a client that takes nothing for write_timeout
// is cut off, once, though its queue never reaches the budget.
func TestStalledWriteCutsOff(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	h := New(Options{Logger: zap.New(core)})
	cfg := Config{WriteTimeout: 200 * time.Millisecond, NoPresence: true}.WithDefaults()
	c := stuckClient(t, h, &cfg)
	if err := h.join(c, "r", ""); err != nil {
		t.Fatal(err)
	}
	h.Publish("r", []byte(`"one"`))
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("not cut off within 10s")
	}
	if !c.isClosing() || logs.FilterMessage("closing a slow client: write stalled").Len() != 1 || logs.Len() != 1 {
		t.Fatalf("closing %v, logs %v", c.isClosing(), logs.All())
	}
	if c.send(newFrame(opText, []byte("late"))) {
		t.Fatal("a frame was taken after the cut-off")
	}
}

// TestHalfSentMessagesBounded: 5,000 connections each holding half of a
// 64 KiB message hold no more than that half, rounded up to the frame,
// each; and each is closed with 1008 within ping_interval + pong_timeout
// of starting it, while a bystander's room works.
func TestHalfSentMessagesBounded(t *testing.T) {
	const conns, size = 5000, 64 << 10
	h := New(Options{})
	cfg := Config{PingInterval: 500 * time.Millisecond, PongTimeout: 500 * time.Millisecond, NoPresence: true}.WithDefaults()
	frame := frm(true, opBinary, string(make([]byte, size-16)))
	half := frame[:len(frame)/2]
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	clients := make([]*Client, conns)
	readers := make([]*reader, conns)
	start := time.Now()
	for i := range clients {
		clients[i] = newClient(h, &cfg, &discardConn{}, "", "", "test")
		clients[i].startKeepalive()
		readers[i] = newReader(clients[i])
		if readers[i].consume(append([]byte(nil), half...)) {
			t.Fatal("the half frame ended the reader")
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConn := (int64(after.HeapInuse) - int64(before.HeapInuse)) / conns
	t.Logf("%d B per connection holding %d B of a message", perConn, len(half))
	if perConn > size+4<<10 {
		t.Fatalf("%d B per connection, bound %d", perConn, size+4<<10)
	}
	bystander := newClient(h, &cfg, &discardConn{}, "", "", "test")
	if err := h.join(bystander, "r", ""); err != nil {
		t.Fatal(err)
	}
	if p, ok, err := h.Publish("r", []byte(`1`)); err != nil || !ok || p.Delivered != 1 {
		t.Fatalf("bystander's room: %+v %v %v", p, ok, err)
	}
	limit := cfg.PingInterval + cfg.PongTimeout
	last := time.Now() // the last message started before this
	t.Logf("%d half messages sent in %v", conns, last.Sub(start))
	for _, c := range clients {
		for !c.isClosing() {
			if time.Since(last) > limit+10*time.Second {
				t.Fatalf("a connection still open %v after the last message started", time.Since(last))
			}
			time.Sleep(10 * time.Millisecond)
		}
		if c.closeCode != ClosePolicy {
			t.Fatalf("closed with %d, want 1008", c.closeCode)
		}
	}
	runtime.KeepAlive(readers)
}
