package caddyrooms

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// isExtendedConnect reports whether r opens a WebSocket over an HTTP/2 or
// HTTP/3 stream (RFC 8441, RFC 9220). quic-go puts :protocol in r.Proto.
func isExtendedConnect(r *http.Request) bool {
	if r.Method != http.MethodConnect {
		return false
	}
	return (r.ProtoMajor == 2 && r.Header.Get(":protocol") == "websocket") ||
		(r.ProtoMajor == 3 && r.Proto == "websocket")
}

// quicPingInterval bounds the ping interval of WebSockets over HTTP/3.
// Caddy leaves QUIC's idle timeout at quic-go's default of 30s, with no
// keep-alives of its own: a WebSocket with nothing to say for 30s loses its
// whole QUIC connection unless a frame crosses it sooner, and the default
// ping_interval of 30s is just too late. Chromium pings QUIC connections
// with open streams every 15s for the same reason.
const quicPingInterval = 15 * time.Second

// serveStream serves a WebSocket opened with extended CONNECT: the stream's
// request body carries the client's frames and the response body ours, with
// no HTTP/1.1 handshake.
//
// Once accepted, the WebSocket lives by the route's timeouts, as one over
// HTTP/1.1 does once its connection is hijacked: Caddy's idle timeouts of
// the stream are set to the route's ping and write timeouts, and the
// server's read_body and write timeouts, which cap a whole request, are
// lifted for it. Over HTTP/3 it is pinged at least every
// quicPingInterval.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request) error {
	cn, err := h.accept(r)
	if err != nil {
		return err
	}
	if r.Header.Get("Sec-WebSocket-Version") != "13" {
		return caddyhttp.Error(http.StatusBadRequest, errors.New("rooms: Sec-WebSocket-Version must be 13"))
	}
	cfg := h.cfg
	if r.ProtoMajor == 3 && cfg.PingInterval > quicPingInterval {
		c := *cfg
		c.PingInterval = quicPingInterval
		cfg = &c
	}
	rd, wr := caddyhttp.IdleTimeoutsFromContext(r.Context())
	if rd != nil {
		// nothing reads the body yet: this cannot race with the reader
		rd.Deadline.HardDeadline = time.Time{}
		if d := cfg.PingInterval + cfg.PongTimeout; cfg.PingInterval > 0 && d > 0 {
			defer rd.Override(d, 0)()
		}
	}
	if wr != nil {
		wr.Deadline.HardDeadline = time.Time{}
		if cfg.WriteTimeout > 0 {
			defer wr.Override(cfg.WriteTimeout, 0, 0)()
		}
	}
	c, err := h.admit(cn, cfg) // in its room before the 200 that accepts it
	if c == nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		h.hub.Abandon(c)
		h.logger.Warn("websocket stream: flush failed", zap.String("remote_addr", r.RemoteAddr), zap.Error(err))
		return nil
	}
	// HTTP/2 arms the server's read and write timeouts as timers on the
	// stream, which reset it when they fire: stop them.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	sc := &streamConn{body: r.Body, w: w, rc: rc, remote: r.RemoteAddr}
	_, err = h.upgrader.Upgrade(&streamHijacker{conn: sc}, handshakeFor(r), nil)
	if err != nil {
		h.hub.Abandon(c)
		h.logger.Warn("websocket stream setup failed", zap.String("remote_addr", r.RemoteAddr), zap.Error(err))
		return nil
	}
	h.hub.Start(c, sc)
	return nil
}

// handshakeFor dresses an extended CONNECT request as the HTTP/1.1
// handshake gorilla expects; the answer it writes is discarded, since on a
// stream the 200 already accepted the WebSocket.
func handshakeFor(r *http.Request) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Method = http.MethodGet
	r2.Header.Set("Connection", "Upgrade")
	r2.Header.Set("Upgrade", "websocket")
	var key [16]byte
	_, _ = rand.Read(key[:])
	r2.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key[:]))
	return r2
}

// streamHijacker hands gorilla the stream as if it were a hijacked socket.
type streamHijacker struct {
	conn   *streamConn
	header http.Header
}

func (s *streamHijacker) Header() http.Header {
	if s.header == nil {
		s.header = http.Header{}
	}
	return s.header
}
func (s *streamHijacker) Write(p []byte) (int, error) { return len(p), nil }
func (s *streamHijacker) WriteHeader(int)             {}
func (s *streamHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	s.conn.skipHandshake = true
	return s.conn, bufio.NewReadWriter(bufio.NewReaderSize(s.conn, 4096), bufio.NewWriterSize(s.conn, 64)), nil
}

// streamConn is an HTTP/2 or HTTP/3 stream seen as a net.Conn: reads come
// from the request body, writes go to the response and are flushed.
//
// A write deadline bounds only the write in flight: on HTTP/2 a deadline
// is a timer that resets the stream when it fires, even between writes,
// where on a socket it would only fail the next write. Left armed after a
// write, it would end an idle WebSocket write_timeout after its last
// frame, before the next ping.
type streamConn struct {
	body          io.ReadCloser
	w             http.ResponseWriter
	rc            *http.ResponseController
	remote        string
	skipHandshake bool // the next write is gorilla's 101 answer: drop it

	mu     sync.Mutex // serializes writes
	closed bool

	dmu           sync.Mutex
	writeDeadline time.Time
}

func (s *streamConn) Read(p []byte) (int, error) { return s.body.Read(p) }

func (s *streamConn) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, net.ErrClosed
	}
	if s.skipHandshake {
		s.skipHandshake = false
		return len(p), nil
	}
	s.dmu.Lock()
	deadline := s.writeDeadline
	s.dmu.Unlock()
	if !deadline.IsZero() {
		if err := ignoreUnsupported(s.rc.SetWriteDeadline(deadline)); err != nil {
			return 0, err
		}
		defer func() { _ = s.rc.SetWriteDeadline(time.Time{}) }()
	}
	n, err := s.w.Write(p)
	if err == nil {
		err = s.rc.Flush()
	}
	return n, err
}

// Close ends the stream: the request body is closed, which resets the
// stream if the peer still sends, and the handler's return ends it.
func (s *streamConn) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.body.Close()
}

func (s *streamConn) LocalAddr() net.Addr  { return streamAddr("local") }
func (s *streamConn) RemoteAddr() net.Addr { return streamAddr(s.remote) }
func (s *streamConn) SetDeadline(t time.Time) error {
	_ = s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}
func (s *streamConn) SetReadDeadline(t time.Time) error {
	return ignoreUnsupported(s.rc.SetReadDeadline(t))
}
func (s *streamConn) SetWriteDeadline(t time.Time) error {
	s.dmu.Lock()
	s.writeDeadline = t
	s.dmu.Unlock()
	return nil
}

func ignoreUnsupported(err error) error {
	if errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	return err
}

type streamAddr string

func (a streamAddr) Network() string { return "stream" }
func (a streamAddr) String() string  { return string(a) }

var _ net.Conn = (*streamConn)(nil)
