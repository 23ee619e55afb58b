package hub

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"
)

// recordConn is a net.Conn that keeps what is written to it.
type recordConn struct {
	net.Conn // nil: only the methods below are used
	mu       sync.Mutex
	buf      bytes.Buffer
}

func (r *recordConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}
func (r *recordConn) Close() error                     { return nil }
func (r *recordConn) SetWriteDeadline(time.Time) error { return nil }
func (r *recordConn) SetReadDeadline(time.Time) error  { return nil }

func (r *recordConn) written() string { r.mu.Lock(); defer r.mu.Unlock(); return r.buf.String() }

// TestJoinWhileStoppingIsUnavailable: a join handled once the hub is
// stopping is answered with error unavailable, with the frame's id, and
// joins nothing.
func TestJoinWhileStoppingIsUnavailable(t *testing.T) {
	h := New(Options{})
	cfg := Config{}.WithDefaults()
	conn := &recordConn{}
	c := newClient(h, &cfg, conn, "", "", "test") // not registered: Close leaves it open
	h.Close(CloseGoingAway, "server stopping", time.Second)
	newReader(c).handle(opText, []byte(`{"type":"join","room":"r","id":"j1"}`))
	want := `{"type":"error","code":"unavailable"`
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Contains([]byte(conn.written()), []byte(want)) {
		if time.Now().After(deadline) {
			t.Fatalf("written: %q, want an error frame with code unavailable", conn.written())
		}
		time.Sleep(time.Millisecond)
	}
	if got := conn.written(); !bytes.Contains([]byte(got), []byte(`"id":"j1"`)) {
		t.Fatalf("written: %q, want the frame's id", got)
	}
	if _, ok, _ := h.Room("r"); ok {
		t.Fatal("the room exists: the join went through")
	}
}
