package hub

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// Conn is what Serve needs of an accepted connection.
type Conn struct {
	WS         *websocket.Conn // after the handshake; used for reading
	Net        net.Conn        // the same connection, written by the hub's writer
	ID         string          // optional; a random id when empty
	User       string          // optional identity
	RemoteAddr string
	Room       string // optional room to join before `welcome`
	Meta       any    // optional; becomes Client.Meta, for the route's Authorizer
}

// Serve serves one upgraded connection with cfg until it closes. It returns
// an error when the connection was refused before it was served (for
// example the path room refused it); the connection is closed either way.
func (h *Hub) Serve(cn Conn, cfg *Config) error {
	if h.closed.Load() {
		_, _ = cn.Net.Write(closeFrame(CloseGoingAway, "server stopping").b)
		return cn.Net.Close()
	}
	h.wg.Add(1)
	defer h.wg.Done()
	c := newClient(h, cfg, cn.Net, cn.ID, cn.User, cn.RemoteAddr)
	c.Meta = cn.Meta
	if cfg.PingInterval > 0 {
		t := time.AfterFunc(time.Hour, c.ping)
		t.Stop()
		c.pinger = t
		defer t.Stop()
	}
	h.addClient(c)
	h.obs.Connected()
	defer h.disconnect(c)
	c.logAt(zap.DebugLevel, "connected", zap.String("user", c.User), zap.String("room", cn.Room))

	c.sendJSON(welcomeFrame(c.ID, c.User))
	if cn.Room != "" {
		if err := h.Join(c, cn.Room, ""); err != nil {
			c.refuse(err, "")
			c.Close(ClosePolicy, "cannot join "+cn.Room)
			c.logAt(zap.WarnLevel, "refused the route's room", zap.String("room", cn.Room), zap.Error(err))
			return err
		}
	}
	if c.pinger != nil {
		c.pinger.Reset(cfg.PingInterval)
	}
	r := &reader{c: c, ws: cn.WS}
	r.run()
	return nil
}

// disconnect takes c out of its rooms, lets the writer finish its close
// frame, drains what the peer still sends, and closes the connection.
func (h *Hub) disconnect(c *Client) {
	rooms := c.Rooms()
	h.leaveAll(c)
	h.removeClient(c)
	h.obs.Disconnected()
	c.Close(CloseNormal, "")
	select {
	case <-c.done:
	case <-time.After(c.cfg.WriteTimeout):
	}
	drain(c.conn)
	_ = c.conn.Close()
	c.logAt(zap.DebugLevel, "disconnected", zap.Strings("rooms", rooms), zap.Int("close_code", c.closeCode))
}

// drain reads what the peer still sends, briefly, so that closing the
// socket does not reset it before the peer has read our close frame.
func drain(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(closeGrace))
	buf := make([]byte, 4096)
	for i := 0; i < 256; i++ {
		if _, err := conn.Read(buf); err != nil {
			return
		}
	}
}

// reader reads a connection's frames and acts on them.
type reader struct {
	c       *Client
	ws      *websocket.Conn
	limiter *rate.Limiter
	errors  int // consecutive refusals
}

var readBufPool = sync.Pool{New: func() any { return make([]byte, 0, 4096) }}

func (r *reader) run() {
	c := r.c
	cfg := c.cfg
	r.ws.SetReadLimit(cfg.MaxMessageSize)
	if cfg.RateLimit > 0 {
		r.limiter = rate.NewLimiter(rate.Limit(cfg.RateLimit), cfg.RateBurst)
	}
	r.extendDeadline()
	r.ws.SetPongHandler(func(string) error { r.extendDeadline(); return nil })
	r.ws.SetPingHandler(func(data string) error {
		r.extendDeadline()
		c.send(newFrame(opPong, []byte(data)))
		return nil
	})
	r.ws.SetCloseHandler(func(code int, text string) error {
		if code == websocket.CloseNoStatusReceived {
			c.Close(CloseNormal, "")
		} else {
			c.Close(code, "")
		}
		return nil
	})
	for {
		op, rd, err := r.ws.NextReader()
		if err != nil {
			r.readFailed(err)
			return
		}
		buf, err := readAll(rd)
		if err != nil {
			r.readFailed(err)
			return
		}
		if c.isClosing() {
			readBufPool.Put(buf[:0])
			continue // the peer has yet to see our close frame
		}
		c.hub.obs.Received()
		r.handle(op, buf)
		readBufPool.Put(buf[:0])
	}
}

func readAll(rd io.Reader) ([]byte, error) {
	buf := readBufPool.Get().([]byte)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// readFailed closes the connection after a read error.
func (r *reader) readFailed(err error) {
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		// gorilla has written the 1009 close frame already
		r.c.hub.obs.ErrorSent("message_too_big")
		r.c.logAt(zap.WarnLevel, "frame over max_message_size", zap.Int64("max_message_size", r.c.cfg.MaxMessageSize), zap.Strings("rooms", r.c.Rooms()))
		r.c.closeWith(CloseTooBig, nil, false)
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived):
	case isTimeout(err) && !r.c.isClosing():
		r.c.logAt(zap.WarnLevel, "closing: no pong in time", zap.Strings("rooms", r.c.Rooms()))
		r.c.Close(ClosePolicy, "pong timeout")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// extendDeadline gives the peer ping_interval + pong_timeout to show life.
func (r *reader) extendDeadline() {
	cfg := r.c.cfg
	if cfg.PingInterval <= 0 || r.c.isClosing() {
		return
	}
	_ = r.ws.SetReadDeadline(time.Now().Add(cfg.PingInterval + cfg.PongTimeout))
}

// handle acts on one data frame.
func (r *reader) handle(op int, buf []byte) {
	if r.limiter != nil && !r.limiter.Allow() {
		r.fail(refuse(CodeRateLimited, "over the connection's rate limit; the frame was not handled"), frameID(op, buf), "")
		return
	}
	if r.c.cfg.Protocol == Raw {
		r.relay(op, buf)
		return
	}
	if op != websocket.TextMessage {
		r.fail(refuse(CodeBinaryFrame, "binary frames are not part of the json protocol"), "", "")
		return
	}
	var in inbound
	if err := json.Unmarshal(buf, &in); err != nil {
		r.fail(refuse(CodeBadJSON, "the frame is not a JSON object: "+err.Error()), "", "")
		return
	}
	if err := r.dispatch(&in); err != nil {
		r.fail(err, in.ID, in.Room)
		return
	}
	r.errors = 0
}

// frameID finds the correlation id of a json frame, for a refusal.
func frameID(op int, buf []byte) string {
	if op != websocket.TextMessage {
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
		return h.Join(c, in.Room, in.ID)
	case "leave":
		return h.Leave(c, in.Room, in.ID)
	case "publish":
		if in.Room == "" {
			return errMissingRoom
		}
		if len(in.Data) == 0 {
			return refuse(CodeMissingData, `"data" is required`)
		}
		seq, err := h.publishFrom(c, in.Room, in.Data, false)
		if err != nil {
			return err
		}
		c.send(ackFrame(in.ID, seq))
		return nil
	case "":
		return refuse(CodeUnknownType, `"type" is required`)
	default:
		return refuse(CodeUnknownType, "unknown type "+quote(in.Type))
	}
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return string(jsonString(nil, s))
}

// relay publishes a raw frame to the connection's rooms.
func (r *reader) relay(op int, buf []byte) {
	for _, name := range r.c.Rooms() {
		data := append([]byte(nil), buf...)
		if _, err := r.c.hub.publishFrom(r.c, name, data, op == websocket.BinaryMessage); err != nil {
			r.fail(err, "", name)
		}
	}
}

// fail answers a refused frame with an error frame, and closes a connection
// that keeps sending refused frames.
func (r *reader) fail(err error, id, room string) {
	var e *Error
	if !errors.As(err, &e) {
		e = refuse("internal", err.Error())
	}
	r.c.logAt(zap.WarnLevel, "refused a frame", zap.String("code", e.Code), zap.String("room", room))
	r.c.refuse(e, id)
	r.errors++
	if max := r.c.cfg.MaxErrors; max > 0 && r.errors >= max {
		r.c.logAt(zap.WarnLevel, "closing after repeated errors", zap.Int("errors", r.errors), zap.String("code", e.Code), zap.String("room", room))
		r.c.Close(ClosePolicy, "too many errors")
	}
}

// refuse tells the client why a frame was refused.
func (c *Client) refuse(err error, id string) {
	var e *Error
	if !errors.As(err, &e) {
		e = refuse("internal", err.Error())
	}
	c.hub.obs.ErrorSent(e.Code)
	c.sendJSON(errorFrame(e.Code, e.Message, id))
}
