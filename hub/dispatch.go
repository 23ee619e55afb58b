package hub

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"runtime"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// reader acts on the frames a connection sends. Its bytes come from the
// hub's poller, or from run on the connection's own goroutine.
type reader struct {
	c       *Client
	fr      frameReader
	limiter *rate.Limiter
	errors  int // consecutive refusals
	turn    int // messages handled since the goroutine last yielded
	// pending gathers the members this read's publishes reach, written
	// once the read's frames are handled (inline_write.go); nil between
	// reads.
	pending *inlineWrites
}

// writes is where this read's publishes gather idle members.
func (r *reader) writes() *inlineWrites {
	if r.pending == nil {
		r.pending = getInlineWrites()
	}
	return r.pending
}

// flushWrites writes the members this read's publishes reached.
func (r *reader) flushWrites() {
	if w := r.pending; w != nil {
		r.pending = nil
		w.flush()
	}
}

// turnMessages bounds the messages one reading goroutine handles before it
// yields the processor: a burst of publishes queues deliveries for many
// writers, which then get their turn to write them before the burst goes
// on, so a queue measures what its client fails to take, not how much one
// read held. Zero never yields (for the benchmark that compares).
var turnMessages = 32

func newReader(c *Client) *reader {
	r := &reader{c: c, fr: frameReader{limit: c.cfg.MaxMessageSize}}
	if c.cfg.RateLimit > 0 {
		r.limiter = rate.NewLimiter(rate.Limit(c.cfg.RateLimit), c.cfg.RateBurst)
	}
	return r
}

// blockingReadSize is the read buffer of a connection read on its own
// goroutine; a larger frame is read in several calls.
const blockingReadSize = 2048

// run reads conn on the calling goroutine until it ends.
func (r *reader) run(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Time{}) // the HTTP server's, if any
	buf := make([]byte, blockingReadSize)
	for {
		n, err := conn.Read(buf)
		if n > 0 && r.consume(buf[:n]) {
			return
		}
		if err != nil {
			r.readFailed(err)
			return
		}
	}
}

// readFailed closes the connection after a read error. A read that timed
// out, as a stream's idle timeout of ping_interval + pong_timeout makes it,
// means the peer fell silent, as the keepalive would find.
func (r *reader) readFailed(err error) {
	c := r.c
	switch {
	case c.isClosing() || err == io.EOF || errors.Is(err, net.ErrClosed):
	case isTimeout(err):
		c.pongTimeout()
	default:
		c.logAt(zap.DebugLevel, "read failed", zap.Error(err))
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// consume decodes and handles data; it reports true when reading ends:
// after the peer's close frame, or a frame that breaks the protocol.
func (r *reader) consume(data []byte) (end bool) {
	r.c.heard()
	stop, err := r.fr.feed(data, r)
	r.flushWrites()
	if err != nil {
		r.protocolFailed(err)
		return true
	}
	r.c.noteIncomplete(r.fr.incomplete())
	return stop
}

// protocolFailed closes the connection after a frame that breaks the
// protocol, or a message over max_message_size.
func (r *reader) protocolFailed(err error) {
	var pe *protocolError
	if !errors.As(err, &pe) {
		pe = protoErr(CloseProtocolError, err.Error())
	}
	c := r.c
	if pe.code == CloseTooBig {
		c.hub.obs.ErrorSent(CodeMessageTooBig)
		c.logAt(zap.WarnLevel, "frame over max_message_size", zap.Int64("max_message_size", c.cfg.MaxMessageSize), zap.Strings("rooms", c.Rooms()))
	} else {
		c.logAt(zap.WarnLevel, "closing: websocket protocol error", zap.String("reason", pe.reason), zap.Int("close_code", pe.code))
	}
	c.Close(pe.code, pe.reason)
}

// control answers a ping and the peer's close frame; a pong only shows
// life, which consume has noted already.
func (r *reader) control(op byte, payload []byte) {
	switch op {
	case opPing:
		r.c.send(newFrame(opPong, payload))
	case opClose:
		code := closeCodeOf(payload)
		if code == CloseNoStatus {
			code = CloseNormal
		}
		r.c.Close(code, "")
	}
}

// message handles one whole data message.
func (r *reader) message(op byte, payload []byte) {
	if r.c.isClosing() {
		return // the peer has yet to see our close frame
	}
	r.c.hub.obs.Received()
	r.handle(op, payload)
	if r.turn++; turnMessages > 0 && r.turn >= turnMessages {
		r.turn = 0
		r.flushWrites()
		runtime.Gosched()
	}
}

// handle acts on one data frame.
func (r *reader) handle(op byte, buf []byte) {
	if r.limiter != nil && !r.limiter.Allow() {
		r.fail(newError(CodeRateLimited, "over the connection's rate limit; the frame was not handled"), frameID(op, buf), "")
		return
	}
	if r.c.cfg.Protocol == Raw {
		r.relay(op, buf)
		return
	}
	if op != opText {
		r.fail(newError(CodeBinaryFrame, "binary frames are not part of the json protocol"), "", "")
		return
	}
	var in inbound
	if err := json.Unmarshal(buf, &in); err != nil {
		r.fail(newError(CodeBadJSON, "the frame is not a JSON object: "+err.Error()), "", "")
		return
	}
	if err := r.dispatch(&in); err != nil {
		r.fail(err, in.ID, in.Room)
		return
	}
	r.errors = 0
}

// frameID finds the correlation id of a json frame, for a refusal.
func frameID(op byte, buf []byte) string {
	if op != opText {
		return ""
	}
	var in struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(buf, &in)
	return in.ID
}

func (r *reader) dispatch(in *inbound) error {
	h, c := r.c.hub, r.c
	switch in.Type {
	case "join":
		return h.joinWith(c, joinRequest{room: in.Room, id: in.ID, since: in.Since, last: in.Last})
	case "leave":
		return h.leave(c, in.Room, in.ID)
	case "members":
		return h.members(c, in.Room, in.ID, in.pageQuery)
	case "publish":
		if in.Room == "" {
			return errMissingRoom
		}
		if len(in.Data) == 0 {
			return newError(CodeMissingData, `"data" is required`)
		}
		w := r.writes()
		p, err := h.publishFrom(c, in.Room, in.Data, false, in.Key, w)
		if err != nil {
			return err
		}
		c.sendVia(ackFrame(in.ID, p.Seq, p.Duplicate), w)
		return nil
	case "":
		return newError(CodeUnknownType, `"type" is required`)
	default:
		return newError(CodeUnknownType, "unknown type "+quote(in.Type))
	}
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return string(jsonString(nil, s))
}

// relay publishes a raw frame to the connection's rooms. A raw client
// gets no error frames: a message its cluster could not order closes it
// with CloseUnavailable, so that it knows and may reconnect.
func (r *reader) relay(op byte, buf []byte) {
	for _, name := range r.c.Rooms() {
		data := append([]byte(nil), buf...)
		_, err := r.c.hub.publishFrom(r.c, name, data, op == opBinary, "", r.writes())
		switch {
		case err == nil:
		case isUnavailable(err):
			r.c.logAt(zap.DebugLevel, "closing a raw client: the broker is unreachable", zap.String("room", name), zap.Error(err))
			r.c.hub.obs.ErrorSent(CodeUnavailable)
			r.c.Close(CloseUnavailable, "broker unavailable: try again")
			return
		default:
			r.fail(err, "", name)
		}
	}
}

// fail answers a refused frame with an error frame, and closes a connection
// that keeps sending refused frames. A refusal for want of the server
// (code unavailable: stopping, or the broker unreachable) is not the
// client's doing: it is logged at debug level (the broker logs its
// outage once) and does not count towards closing the connection.
func (r *reader) fail(err error, id, room string) {
	var e *Error
	if !errors.As(err, &e) {
		e = newError(CodeInternal, err.Error())
	}
	if e.Code == CodeUnavailable {
		r.c.logAt(zap.DebugLevel, "refused a frame", zap.String("code", e.Code), zap.String("room", room), zap.Error(err))
		r.c.sendError(e, id)
		return
	}
	r.c.logAt(zap.WarnLevel, "refused a frame", zap.String("code", e.Code), zap.String("room", room))
	r.c.sendError(e, id)
	r.errors++
	if max := r.c.cfg.MaxErrors; max > 0 && r.errors >= max {
		r.c.logAt(zap.WarnLevel, "closing after repeated errors", zap.Int("errors", r.errors), zap.String("code", e.Code), zap.String("room", room))
		r.c.Close(CloseTooManyErrs, "too many errors")
	}
}
