package hub

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Client is one WebSocket connection served by the hub.
type Client struct {
	// ID identifies the connection in frames and in the admin API.
	ID string
	// User is the identity the route gave the connection; may be empty.
	User string
	// RemoteAddr is the peer's address.
	RemoteAddr string
	// Meta is what the route attached to the connection (Conn.Meta), such
	// as its authorizer's per-connection data; the hub does not use it.
	Meta any

	hub  *Hub
	cfg  *Config
	conn net.Conn // set under mu when attached; then written only by the writer

	mu        sync.Mutex
	queue     []*Frame      // frames waiting for the writer
	spare     []*Frame      // the writer's last batch, reused as the next queue
	writing   bool          // a writer goroutine is running
	closing   bool          // no more frames are accepted but the close frame
	final     *Frame        // the close frame, written after the queue
	queued    int           // bytes in queue and in the batch being written
	dropped   int           // frames dropped since the client was last told
	done      chan struct{} // closed when the writer has written the close frame or failed
	closeOnce sync.Once
	closeCode int // the code of the close frame sent or being sent

	roomsMu   sync.Mutex
	rooms     map[string]*Room
	leftRooms []string // the rooms leaveAll took the client out of

	pinger    *time.Timer   // the keepalive timer; nil when pings are off
	nextPing  time.Duration // monotonic; touched by the timer alone
	lastHeard atomic.Int64  // monotonic nanoseconds of the last bytes read
	// incompleteSince is when the peer started the frame or fragmented
	// message it has not finished (monotonic nanoseconds); 0 when none.
	incompleteSince atomic.Int64
	polled          *polled // the poller's record, when it reads the connection
	// writer is writeLoop as a func value, made once: a go statement on a
	// method call would allocate a closure at every start of the writer,
	// which at one frame per write is once per delivery.
	writer func()
}

func newClient(h *Hub, cfg *Config, conn net.Conn, id, user, remote string) *Client {
	if id == "" {
		id = newID()
	}
	return &Client{
		ID: id, User: user, RemoteAddr: remote,
		hub: h, cfg: cfg, conn: conn,
		rooms: make(map[string]*Room),
		done:  make(chan struct{}),
	}
}

// idEncoding writes connection ids in lower-case base32: URL-safe, and
// never starting with "-", which a command line would take for a flag.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns a random 16-character connection id.
func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// Rooms lists the rooms the connection is in.
func (c *Client) Rooms() []string {
	c.roomsMu.Lock()
	defer c.roomsMu.Unlock()
	names := make([]string, 0, len(c.rooms))
	for name := range c.rooms {
		names = append(names, name)
	}
	return names
}

// roomsLeft lists the rooms the client was in when it was closed.
func (c *Client) roomsLeft() []string {
	c.roomsMu.Lock()
	defer c.roomsMu.Unlock()
	return c.leftRooms
}

// send queues f for the client. It reports false when the frame was not
// queued because the client is closing or was cut off for being slow.
//
// The queue is budgeted in bytes (Config.SendQueue), the batch being
// written included: a frame that would take it over the budget cuts the
// client off or drops its oldest frames, per Config.SlowClient. A frame
// is always taken into an empty queue, however large.
func (c *Client) send(f *Frame) bool { return c.sendVia(f, nil) }

// sendVia is send; when w is not nil and c is idle, w writes the frame
// inline once the caller lets go of the room's lock (inline_write.go).
func (c *Client) sendVia(f *Frame, w *inlineWrites) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	if c.queued > 0 && c.queued+len(f.b) > c.cfg.SendQueue {
		if c.cfg.SlowClient == Disconnect {
			queued := c.queued
			c.mu.Unlock()
			c.slowCutOff("send queue full", queued)
			return false
		}
		c.dropOldestLocked(len(f.b))
	}
	c.queue = append(c.queue, f)
	c.queued += len(f.b)
	if !w.claimLocked(c) {
		c.startWriterLocked()
	}
	c.mu.Unlock()
	return true
}

// dropOldestLocked drops queued frames, oldest first, until n more bytes
// fit in the budget or nothing is left to drop but the batch being
// written. The slice moves forward in O(1), under the room's lock; the
// next growth of the queue reallocates it.
func (c *Client) dropOldestLocked(n int) {
	dropped := 0
	for len(c.queue) > 0 && c.queued+n > c.cfg.SendQueue {
		c.queued -= len(c.queue[0].b)
		c.queue[0] = nil
		c.queue = c.queue[1:]
		dropped++
	}
	c.dropped += dropped
	c.hub.obs.Dropped(dropped)
}

// slowCutOff closes a client that does not take what it is sent, with
// 1008, and logs it once: only the call that closes it logs.
func (c *Client) slowCutOff(reason string, queued int) {
	if !c.cutOff(ClosePolicy, reason) {
		return
	}
	c.hub.obs.SlowClientClosed()
	c.logAt(zap.WarnLevel, "closing a slow client: "+reason,
		zap.Int("queued_bytes", queued), zap.Int("send_queue", c.cfg.SendQueue))
}

// startWriterLocked starts the writer goroutine unless one runs already.
// The writer exits when the queue is empty, so an idle connection has none.
// Until the connection is attached (Hub.Admit before the handshake's
// answer) frames only queue.
func (c *Client) startWriterLocked() {
	if !c.writing && c.conn != nil {
		c.writing = true
		c.handToWriterLocked()
	}
}

// closeGrace is how long the server waits for the peer's answer to its
// close frame before it drops the connection.
const closeGrace = 2 * time.Second

// Close sends the close frame with code and reason after what is already
// queued, refuses any further frames, and ends the connection once the peer
// answers, or after a grace period. It is safe to call more than once and
// from any goroutine; the first call wins.
func (c *Client) Close(code int, reason string) {
	c.closeWith(code, closeFrame(code, reason), false)
}

// cutOff is Close without the backlog: for a slow client, whose queue is
// full, and when the server stops. It reports whether this call closed
// the client.
func (c *Client) cutOff(code int, reason string) bool {
	return c.closeWith(code, closeFrame(code, reason), true)
}

// closeWith closes with final as the last frame; a nil final means the close
// frame was already written by someone else (gorilla, on a protocol error).
// It reports whether this call closed the client: the first one does.
func (c *Client) closeWith(code int, final *Frame, dropQueue bool) (first bool) {
	c.closeOnce.Do(func() {
		first = true
		c.mu.Lock()
		c.closing, c.closeCode = true, code
		if dropQueue {
			c.clearQueueLocked()
		}
		c.final = final
		if final == nil {
			c.final = &Frame{at: time.Now()} // an empty write: just finish
		}
		c.startWriterLocked()
		c.mu.Unlock()
		c.stopKeepalive()
		// out of every room now, not when the peer is gone: Close may run
		// under a room's lock (a full queue), hence the goroutine
		go c.hub.leaveAll(c)
		c.endReadingAfter(c.cfg.WriteTimeout + closeGrace)
	})
	return first
}

// isClosing reports whether Close was called.
func (c *Client) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// clearQueueLocked drops what waits to be written; the batch being
// written stays counted until it is.
func (c *Client) clearQueueLocked() {
	for _, f := range c.queue {
		c.queued -= len(f.b)
	}
	clear(c.queue)
	c.queue = c.queue[:0]
}

// Queued is how many frames wait to be written to the client.
func (c *Client) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// QueuedBytes is how many bytes wait to be written to the client, the
// batch being written included: what its budget, Config.SendQueue, bounds.
func (c *Client) QueuedBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued
}

// logAt logs msg with the client's id and address when level is enabled.
// The fields are made only then: an idle connection holds no logger.
func (c *Client) logAt(level zapcore.Level, msg string, fields ...zap.Field) {
	if ce := c.hub.log.Check(level, msg); ce != nil {
		ce.Write(append([]zap.Field{zap.String("client", c.ID), zap.String("remote_addr", c.RemoteAddr)}, fields...)...)
	}
}

// sendJSON queues f for a json-protocol client; raw clients get nothing of
// the server's own.
func (c *Client) sendJSON(f *Frame) {
	if c.cfg.Protocol == JSON {
		c.send(f)
	}
}

// sendError tells the client why a frame was refused, with an `error`
// frame; id is the frame's correlation id.
func (c *Client) sendError(err error, id string) {
	var e *Error
	if !errors.As(err, &e) {
		e = newError(CodeInternal, err.Error())
	}
	c.hub.obs.ErrorSent(e.Code)
	c.sendJSON(errorFrame(e.Code, e.Message, id))
}

// endReadingAfter bounds how long the connection is read once it closes:
// the peer has d to answer our close frame.
func (c *Client) endReadingAfter(d time.Duration) {
	c.mu.Lock()
	pc, conn := c.polled, c.conn
	c.mu.Unlock()
	switch {
	case pc != nil:
		time.AfterFunc(d, pc.end)
	case conn != nil: // nil before the connection is attached
		_ = conn.SetReadDeadline(time.Now().Add(d))
	}
}
