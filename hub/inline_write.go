package hub

import (
	"errors"
	"math"
	"os"
	"runtime"
	"sync"
	"time"
)

// Inline writes. A member that is idle (no writer running, nothing
// queued) and whose socket the poller reads is written by the goroutine
// that published to it, once that goroutine has let go of the room's
// lock, with one non-blocking write: no writer goroutine is started and
// no scheduler hand-off delays the frame. Only what the socket does not
// take at once, or a close frame, or a drop notice, goes to the writer
// goroutine, which waits for the socket as before.
//
// A reading goroutine gathers the members it published to while it
// handles one read's frames (at most turnMessages of them) and writes
// each once at the end: several publishes, and the sender's acks, reach a
// member in one write.

// inlineMaxClients bounds the members one gathering writes inline when
// the process has more than one processor (GOMAXPROCS): the rest of a big
// room get writer goroutines, which run on the other processors while the
// publisher writes its share. With one processor nothing would run beside
// the publisher, and a goroutine per member would only add its start and
// its wait in the run queue: every member is written inline.
const inlineMaxClients = 256

// inlineLimit is how many members a gathering starting now writes inline.
func inlineLimit() int {
	if runtime.GOMAXPROCS(0) == 1 {
		return math.MaxInt
	}
	return inlineMaxClients
}

// inlineMaxFrames bounds the frames of one inline write (a writev takes
// at most 1024 buffers); a longer queue goes to the writer.
const inlineMaxFrames = 64

// inlineWrites gathers the members to write once the room's lock is let
// go. It belongs to one goroutine at a time.
type inlineWrites struct {
	clients []*Client
	limit   int      // how many clients it takes (inlineLimit)
	io      inlineIO // the vector of one write, reused
}

var inlinePool = sync.Pool{New: func() any { return &inlineWrites{clients: make([]*Client, 0, 64)} }}

func getInlineWrites() *inlineWrites {
	w := inlinePool.Get().(*inlineWrites)
	w.limit = inlineLimit()
	return w
}

// flush writes every gathered member and puts w back in the pool.
func (w *inlineWrites) flush() {
	for i, c := range w.clients {
		c.writeInline(&w.io)
		w.clients[i] = nil
	}
	w.clients = w.clients[:0]
	inlinePool.Put(w)
}

// claimLocked takes c's queue for w to write, when c is idle, its socket
// can be written around Go's poller and w has room; the caller holds c.mu
// and has just queued a frame. It reports false when a writer goroutine
// must be started instead.
func (w *inlineWrites) claimLocked(c *Client) bool {
	if w == nil || c.writing || c.conn == nil || !c.polled.canWriteInline() || len(w.clients) >= w.limit {
		return false
	}
	c.writing = true
	w.clients = append(w.clients, c)
	return true
}

// writeInline writes c's queue in one non-blocking write; what the socket
// does not take, and anything but data (a close frame, a drop notice),
// goes to the writer goroutine. c.writing is set: this is c's writer.
func (c *Client) writeInline(io *inlineIO) {
	c.mu.Lock()
	if c.final != nil || c.dropped > 0 || len(c.queue) > inlineMaxFrames {
		c.handToWriterLocked()
		c.mu.Unlock()
		return
	}
	batch := c.queue
	if len(batch) == 0 {
		c.writing = false
		c.mu.Unlock()
		return
	}
	c.queue, c.spare = c.spare[:0], nil
	c.mu.Unlock()

	c.hub.obs.Written(time.Since(batch[0].at))
	n, err := c.polled.writeNow(batch, io)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// the writer goroutine's last deadline, long past: this write
		// never waits, so it needs none
		_ = c.conn.SetWriteDeadline(time.Time{})
		n, err = c.polled.writeNow(batch, io)
	}
	if err != nil {
		c.recycle(batch)
		c.finish(err)
		return
	}
	c.wroteInline(batch, n)
}

// wroteInline accounts for n bytes of batch written. What the socket did
// not take goes to a writer goroutine, which writes it before anything
// queued since: not through the queue, where dropping the oldest frames
// or a cut-off could drop the tail of a frame half written. Else a writer
// starts if anything waits, or the client is idle again.
func (c *Client) wroteInline(batch []*Frame, n int) {
	rest := unwritten(batch, n)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queued -= n
	clear(batch)
	if c.spare == nil {
		c.spare = batch[:0]
	}
	switch {
	case len(rest) > 0:
		go c.writeFrom(rest) // rare: a socket that took part of a write
	case len(c.queue) == 0 && c.final == nil && c.dropped == 0:
		c.writing = false
	default:
		c.handToWriterLocked()
	}
}

// unwritten is what is left of batch after its first n bytes: nil when
// all of it was written, else a new slice whose first frame is the tail of
// the frame the write stopped in.
func unwritten(batch []*Frame, n int) []*Frame {
	for i, f := range batch {
		if n < len(f.b) {
			rest := make([]*Frame, 0, len(batch)-i)
			if n > 0 {
				f = &Frame{b: f.b[n:], at: f.at}
			}
			return append(append(rest, f), batch[i+1:]...)
		}
		n -= len(f.b)
	}
	return nil
}

// handToWriterLocked starts the writer goroutine for a client whose
// writing is already set (claimed by an inline write). The caller holds
// c.mu.
func (c *Client) handToWriterLocked() {
	if c.writer == nil {
		c.writer = c.writeLoop
	}
	go c.writer()
}
