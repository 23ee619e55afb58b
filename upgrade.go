package caddyrooms

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/caddyrooms/caddyrooms/hub"
)

// writeBufferPool spares gorilla a write buffer per connection. gorilla
// does the handshake alone: the hub frames, writes and reads everything
// after it, so gorilla's connection object is dropped at once.
var writeBufferPool = &sync.Pool{}

// newUpgrader is the handshake of a route's WebSockets, over HTTP/1.1 and
// over a stream alike; the route checks the origin before it.
func newUpgrader() websocket.Upgrader {
	return websocket.Upgrader{
		CheckOrigin:     func(*http.Request) bool { return true }, // checked before
		WriteBufferPool: writeBufferPool,                          // no write buffer of its own
	}
}

// serveUpgrade serves an HTTP/1.1 Upgrade handshake.
func (h *Handler) serveUpgrade(w http.ResponseWriter, r *http.Request) error {
	cn, err := h.accept(r)
	if err != nil {
		return err
	}
	if !handshakeValid(r) { // gorilla answers why, and no room sees it
		_, err := h.upgrader.Upgrade(hijackShim{w}, r, nil)
		h.logger.Warn("websocket handshake failed", zap.String("remote_addr", r.RemoteAddr), zap.Error(err))
		return nil
	}
	c, err := h.admit(cn, h.cfg)
	if c == nil {
		return err
	}
	ws, err := h.upgrader.Upgrade(hijackShim{w}, r, nil)
	if err != nil {
		h.hub.Abandon(c)
		h.logger.Warn("websocket handshake failed", zap.String("remote_addr", r.RemoteAddr), zap.Error(err))
		return nil // gorilla has answered the request
	}
	// The hijacked connection is ours: serve it on a fresh goroutine and
	// let this request, with its deep stack and its per-request state, end.
	// Once set up, the socket (plain or TLS) is handed to the hub's poller
	// and that goroutine ends too (see hub.Start).
	go h.hub.Start(c, ws.NetConn())
	return nil
}

// handshakeValid checks what gorilla checks of a handshake's request, so
// that a connection is admitted only when its upgrade can succeed.
func handshakeValid(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Sec-WebSocket-Version") == "13" &&
		r.Header.Get("Sec-WebSocket-Key") != ""
}

// admit makes the connection a client, in its route's room, before the
// handshake is answered: a message sent once the peer has seen the answer
// reaches it (a raw client gets no welcome to wait for). A route room that
// refuses it is told after the upgrade, with an error frame and 1008; a
// hub closed meanwhile answers 503.
func (h *Handler) admit(cn hub.Conn, cfg *hub.Config) (*hub.Client, error) {
	c, _ := h.hub.Admit(cn, cfg) // a refused room is logged, and told after the upgrade
	if c == nil {
		return nil, caddyhttp.Error(http.StatusServiceUnavailable, errors.New("rooms: the server is stopping"))
	}
	return c, nil
}

// accept checks the origin and fills in the connection's room, user and
// what its authorizer needs of the handshake, before anything is upgraded.
func (h *Handler) accept(r *http.Request) (hub.Conn, error) {
	if !h.originAllowed(r) {
		h.logger.Warn("origin not allowed", zap.String("origin", r.Header.Get("Origin")), zap.String("remote_addr", r.RemoteAddr))
		return hub.Conn{}, caddyhttp.Error(http.StatusForbidden, fmt.Errorf("rooms: origin %q is not allowed", r.Header.Get("Origin")))
	}
	if h.hub.Closed() {
		return hub.Conn{}, caddyhttp.Error(http.StatusServiceUnavailable, errors.New("rooms: the server is stopping"))
	}
	repl := requestReplacer(r)
	cn := hub.Conn{RemoteAddr: r.RemoteAddr, User: repl.ReplaceAll(h.User, "")}
	if h.auth != nil {
		cn.Meta = h.auth.forRequest(r, repl)
	}
	if h.Room != "" {
		cn.Room = repl.ReplaceAll(h.Room, "")
		if cn.Room == "" {
			return hub.Conn{}, caddyhttp.Error(http.StatusBadRequest, fmt.Errorf("rooms: the room %q is empty for this request", h.Room))
		}
		var err error
		if cn.Since, cn.Last, err = resumeParams(r.URL.Query()); err != nil {
			return hub.Conn{}, caddyhttp.Error(http.StatusBadRequest, err)
		}
	}
	return cn, nil
}

// originAllowed applies `origins`; with none configured, only the request's
// own host may connect. A request with no Origin header is not from a
// browser and is allowed.
func (h *Handler) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || h.anyOrig {
		return true
	}
	if len(h.origins) > 0 {
		return h.origins[strings.ToLower(origin)]
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// hijackShim gives gorilla the http.Hijacker it asks for. Caddy's response
// writer wrappers (encode, logging) only offer Unwrap, which
// http.ResponseController follows to the connection.
type hijackShim struct {
	http.ResponseWriter
}

func (s hijackShim) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

var _ http.Hijacker = hijackShim{}
