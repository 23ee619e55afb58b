package caddyrooms

import (
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(PublishHandler{})
	httpcaddyfile.RegisterHandlerDirective("rooms_publish", parsePublishCaddyfile)
	// after the authentication handlers, which guard it
	httpcaddyfile.RegisterDirectiveOrder("rooms_publish", httpcaddyfile.After, "forward_auth")
}

// PublishHandler publishes the JSON body of a POST into a room, as the
// server: it is the admin API's POST /rooms/{room}/messages, in the site,
// for application backends that are not on the same host. It answers every
// request it gets, so give it a matcher, and guard it with Caddy's
// authentication (basic_auth, forward_auth, ...): anyone who reaches it can
// publish.
//
// Answers: 200 `{"seq":<n>,"delivered":<count>}`; 404 when the room has no
// members; 400 when the body is not JSON or the room is empty; 413 when the
// body is over MaxSize; 405 for any method but POST. Errors have the body
// `{"error":"<message>"}`.
type PublishHandler struct {
	// Room is the room to publish into; placeholders are replaced per
	// request, e.g. `{http.request.uri.path.2}` (`{path.2}` in a Caddyfile)
	// for /api/publish/lobby. Required.
	Room string `json:"room,omitempty"`

	// Hub names the registry of rooms, as the rooms handler's hub.
	// Default: `default`.
	Hub string `json:"hub,omitempty"`

	// MaxSize is the largest body, in bytes; a larger one gets HTTP 413.
	// Default: the hub's largest max_message_size (64 KiB unless a rooms
	// route of the hub sets it), the admin API's limit too.
	MaxSize int64 `json:"max_size,omitempty"`

	hubRef
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (PublishHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.rooms_publish",
		New: func() caddy.Module { return new(PublishHandler) },
	}
}

// Provision takes the hub from the pool, as the rooms handler does.
func (p *PublishHandler) Provision(ctx caddy.Context) error {
	p.logger = ctx.Logger()
	return p.acquire(ctx, p.Hub, p.logger)
}

// Validate checks the settings.
func (p *PublishHandler) Validate() error {
	switch {
	case p.Room == "":
		return errors.New("rooms_publish: a room is required")
	case p.MaxSize < 0:
		return errors.New("rooms_publish: max_size must not be negative")
	}
	return nil
}

// Cleanup lets go of the hub.
func (p *PublishHandler) Cleanup() error {
	return p.release()
}

// ServeHTTP publishes the request's body.
func (p *PublishHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return writeJSON(w, http.StatusMethodNotAllowed, errorAnswer{"use POST with the message's JSON data as the body"})
	}
	room := requestReplacer(r).ReplaceAll(p.Room, "")
	if room == "" {
		return writeJSON(w, http.StatusBadRequest, errorAnswer{"no room in this request"})
	}
	res, err := publishFromServer(p.hub, r, serverPublish{room: room, maxSize: p.MaxSize})
	if err != nil {
		return writeJSON(w, publishStatus(err), errorAnswer{err.Error()})
	}
	p.logger.Debug("published", zap.String("room", room), zap.Uint64("seq", res.Seq), zap.Int("delivered", res.Delivered),
		zap.Int("bytes", res.bytes), zap.String("remote_addr", r.RemoteAddr))
	return writeJSON(w, http.StatusOK, res)
}

// errorAnswer is the body of rooms_publish's errors, as the admin API's.
type errorAnswer struct {
	Error string `json:"error"`
}

func parsePublishCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var p PublishHandler
	err := p.UnmarshalCaddyfile(h.Dispenser)
	return &p, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	rooms_publish [<matcher>] [<room>] {
//		room      <template>
//		hub       <name>
//		max_size  <size>
//	}
//
// The room is required, as the argument or in the block, e.g.
// `rooms_publish /api/publish/* {path.2}`.
func (p *PublishHandler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	directive := d.Token()
	if d.NextArg() {
		p.Room = d.Val()
		if d.NextArg() {
			return d.ArgErr()
		}
	}
	for d.NextBlock(0) {
		switch opt := d.Val(); opt {
		case "room":
			if err := oneString(d, &p.Room); err != nil {
				return err
			}
		case "hub":
			if err := oneString(d, &p.Hub); err != nil {
				return err
			}
		case "max_size":
			if err := oneSize(d, &p.MaxSize); err != nil {
				return err
			}
		default:
			return d.Errf("unrecognized rooms_publish option %q", opt)
		}
	}
	if err := p.Validate(); err != nil {
		return errAt(directive, err)
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*PublishHandler)(nil)
	_ caddy.Validator             = (*PublishHandler)(nil)
	_ caddy.CleanerUpper          = (*PublishHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*PublishHandler)(nil)
	_ caddyfile.Unmarshaler       = (*PublishHandler)(nil)
)
