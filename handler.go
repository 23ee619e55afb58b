package caddyrooms

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/caddyrooms/caddyrooms/hub"
)

// Handler upgrades matching requests to WebSocket and serves them as
// members of rooms. A request that is not a WebSocket handshake goes on to
// the next handler.
type Handler struct {
	// Room is joined on connect, before `welcome` is sent. Placeholders are
	// replaced per request, e.g. `{path.1}` or `{query.room}`. Optional for
	// the json protocol; required for raw.
	Room string `json:"room,omitempty"`

	// Protocol is `json` (default): the message protocol of the README; or
	// `raw`: every data frame is relayed unchanged to the other members of
	// Room, and the server sends nothing of its own.
	Protocol string `json:"protocol,omitempty"`

	// User is the connection's identity, shown in `welcome`, presence and
	// the admin API. Placeholders are replaced per request, e.g.
	// `{http.auth.user.id}`. Default: none.
	User string `json:"user,omitempty"`

	// Hub names the registry of rooms this route uses. Routes with the
	// same hub share rooms; the admin API serves the hub `default` at
	// /rooms/ and any other at /rooms/@{hub}/. Default: `default`.
	Hub string `json:"hub,omitempty"`

	// Origins are the browser origins allowed to connect, such as
	// `https://example.com`; `*` allows any. Default: only the request's own
	// host. A handshake with no Origin header (not a browser) is allowed.
	// Others get HTTP 403.
	Origins []string `json:"origins,omitempty"`

	// MaxMessageSize is the largest inbound message, all its fragments
	// together, in bytes; a larger one closes that connection with code
	// 1009. Default: 65536 (64 KiB).
	MaxMessageSize int64 `json:"max_message_size,omitempty"`

	// MaxRooms is how many rooms one connection may be in at once; more
	// joins get the error `too_many_rooms`. Default: 100.
	MaxRooms int `json:"max_rooms,omitempty"`

	// MaxMembers is how many members a room may have; more joins get the
	// error `room_full`. Default: 0, no limit.
	MaxMembers int `json:"max_members,omitempty"`

	// RateLimit is how many frames per second a connection may send, on
	// average; frames over it get the error `rate_limited` and are not
	// handled. Default: 0, no limit.
	RateLimit float64 `json:"rate_limit,omitempty"`

	// RateBurst is how many frames a connection may send at once above
	// RateLimit. Default: RateLimit rounded down, at least 1.
	RateBurst int `json:"rate_burst,omitempty"`

	// SendQueue is how many bytes may wait to be written to one
	// connection, the batch being written included; a frame that would
	// pass it makes SlowClient apply, and so does a write that makes no
	// progress for WriteTimeout. A frame always enters an empty queue.
	// At least 4 KiB (it counted frames before). The worst case of the
	// queues' memory is connections × SendQueue (2 × that under
	// drop_oldest). Default: 1048576 (1 MiB).
	SendQueue int `json:"send_queue,omitempty"`

	// SlowClient is what happens when a connection's send queue is over
	// its budget: `disconnect` (default) closes it with code 1008, "send
	// queue full"; `drop_oldest` drops its oldest queued messages to make
	// room and tells it how many it lost with an `error` frame of code
	// `messages_dropped`.
	SlowClient string `json:"slow_client,omitempty"`

	// WriteTimeout bounds each write to a connection of up to 256 KiB of
	// what is queued for it: a connection that takes none of it for that
	// long is cut off as a slow client and closed. Default: 10s.
	WriteTimeout caddy.Duration `json:"write_timeout,omitempty"`

	// PingInterval is how often the server pings a connection. Default: 30s.
	// Over HTTP/3 it is at most 15s, within QUIC's idle timeout.
	PingInterval caddy.Duration `json:"ping_interval,omitempty"`

	// PongTimeout is how long past PingInterval the server waits to hear
	// from a connection (a pong or any frame) before closing it with code
	// 1008. Default: 10s.
	PongTimeout caddy.Duration `json:"pong_timeout,omitempty"`

	// Presence turns presence events on or off. Default: on.
	Presence *bool `json:"presence,omitempty"`

	// PresenceList is the largest room whose members `joined` lists (as
	// `clients`) and that sends a `presence` frame per join and leave; a
	// larger room sends its counts in `joined` and batches its joins and
	// leaves in `presence_diff` frames. Default: 100.
	PresenceList int `json:"presence_list,omitempty"`

	// PresenceInterval is the shortest time between two `presence_diff`
	// frames of a room larger than PresenceList. Default: 1s.
	PresenceInterval caddy.Duration `json:"presence_interval,omitempty"`

	// MaxErrors is how many refused frames in a row close a connection
	// with code 4008 ("too many errors": do not reconnect); -1 never
	// closes. Default: 20.
	MaxErrors int `json:"max_errors,omitempty"`

	// AllowJoin lists the rooms a connection may join, as patterns: `*`
	// matches any run of characters, `{user}` is the connection's identity,
	// `{client}` its connection id, and Caddy placeholders are replaced at
	// the handshake, e.g. `user:{user}:*` and `lobby`. Any other room,
	// the route's own room included, is refused with the error `forbidden`.
	// Default: any room.
	AllowJoin []string `json:"allow_join,omitempty"`

	// AllowPublish lists the rooms, as AllowJoin's patterns, in which a
	// connection may publish; elsewhere it gets the error `forbidden`.
	// Default: any room it is in.
	AllowPublish []string `json:"allow_publish,omitempty"`

	// ReadOnly lists rooms, as AllowJoin's patterns, in which only the
	// server publishes (the admin API, `rooms_publish`): clients may join
	// them and receive, and a client's publish gets the error `forbidden`.
	// Default: none.
	ReadOnly []string `json:"read_only,omitempty"`

	// Authorize asks the application's backend before every join, after
	// AllowJoin allowed it. Default: no callback.
	Authorize *Authorize `json:"authorize,omitempty"`

	// HistorySize is how many recent messages a room this route's
	// connection creates keeps, for resumes and late joiners; -1 keeps
	// none (`history off`). Default: 100.
	HistorySize int `json:"history_size,omitempty"`

	// HistoryTTL is how long such a room keeps its messages after its last
	// one, and its epoch and seq after its last member leaves.
	// Default: 5m.
	HistoryTTL caddy.Duration `json:"history_ttl,omitempty"`

	hubRef
	auth     *roomAuth
	cfg      *hub.Config
	origins  map[string]bool
	anyOrig  bool
	upgrader websocket.Upgrader
	logger   *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.rooms",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision checks the options, builds the route's connection settings
// and authorizer, and takes its hub from the pool, so that a reload keeps
// connections and rooms.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	// Caddy validates after Provision, but what follows needs valid options
	if err := h.Validate(); err != nil {
		return err
	}
	h.cfg = h.hubConfig()
	auth, err := newRoomAuth(h, h.logger)
	if err != nil {
		return err
	}
	if auth != nil {
		h.auth, h.cfg.Authorizer = auth, auth
	}
	h.origins = make(map[string]bool, len(h.Origins))
	for _, o := range h.Origins {
		if o == "*" {
			h.anyOrig = true
		}
		h.origins[strings.ToLower(strings.TrimSuffix(o, "/"))] = true
	}
	h.upgrader = newUpgrader()
	if err := h.acquire(ctx, h.Hub, h.logger); err != nil {
		return err
	}
	h.hub.useConfig(ctx, h.cfg) // the admin API's publish limit
	if err := registerMetrics(ctx); err != nil {
		return err
	}
	return h.onStopping(ctx)
}

// Validate checks the options, alone and together (see checkOptions), and
// the authorize backend's URL.
func (h *Handler) Validate() error {
	if _, err := h.checkOptions(); err != nil {
		return err
	}
	if h.Authorize != nil {
		if _, err := h.Authorize.checked(); err != nil {
			return err
		}
	}
	return nil
}

// Cleanup lets go of the hub; the last config to let go closes it.
func (h *Handler) Cleanup() error {
	if h.auth != nil && h.auth.callback != nil {
		h.auth.callback.close()
	}
	return h.release()
}

// ServeHTTP serves WebSocket handshakes and passes anything else on.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	switch {
	case isExtendedConnect(r):
		return h.serveStream(w, r)
	case websocket.IsWebSocketUpgrade(r):
		return h.serveUpgrade(w, r)
	default:
		return next.ServeHTTP(w, r)
	}
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
