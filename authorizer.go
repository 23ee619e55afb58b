package caddyrooms

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddyrooms/caddyrooms/hub"
)

// Who may join and publish where: the route's allow lists, read-only rooms
// and join callback, checked by the hub on every join (the route's room
// included) and publish. The room patterns are in patterns.go, the join
// callback in joincallback.go.

// roomAuth is a route's authorizer: the hub.Authorizer of its Config.
type roomAuth struct {
	join     []pattern // nil: any room
	publish  []pattern // nil: any room the connection is in
	readOnly []pattern
	callback *callback // nil: no join callback
	places   []string  // the Caddy placeholders the patterns use
}

// connAuth is what the authorizer knows of one connection, resolved at the
// handshake: it is the connection's hub.Client.Meta.
type connAuth struct {
	values  map[string]string // Caddy placeholder -> its value
	headers http.Header       // the handshake headers the callback forwards
}

// newRoomAuth compiles the route's options; it returns nil when the route
// restricts nothing.
func newRoomAuth(h *Handler, logger *zap.Logger) (*roomAuth, error) {
	if h.AllowJoin == nil && h.AllowPublish == nil && h.ReadOnly == nil && h.Authorize == nil {
		return nil, nil
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	a := new(roomAuth)
	seen := make(map[string]bool)
	for _, l := range []struct {
		opt string
		src []string
		dst *[]pattern
	}{
		{"allow_join", h.AllowJoin, &a.join},
		{"allow_publish", h.AllowPublish, &a.publish},
		{"read_only", h.ReadOnly, &a.readOnly},
	} {
		if l.src == nil {
			continue
		}
		*l.dst = make([]pattern, 0, len(l.src))
		for _, s := range l.src {
			p, err := parsePattern(s)
			if err != nil {
				return nil, fmt.Errorf("rooms: %s: %w", l.opt, err)
			}
			*l.dst = append(*l.dst, p)
			for _, part := range p {
				if part.kind == partPlaceholder && !seen[part.text] {
					seen[part.text] = true
					a.places = append(a.places, part.text)
				}
			}
		}
	}
	if h.Authorize != nil {
		cb, err := newCallback(h.Authorize, logger)
		if err != nil {
			return nil, err
		}
		a.callback = cb
	}
	return a, nil
}

// forRequest resolves what the patterns and the callback need of the
// handshake request.
func (a *roomAuth) forRequest(r *http.Request, repl *caddy.Replacer) *connAuth {
	ca := &connAuth{}
	if len(a.places) > 0 {
		ca.values = make(map[string]string, len(a.places))
		for _, key := range a.places {
			if v, ok := repl.GetString(key); ok {
				ca.values[key] = v
			}
		}
	}
	if a.callback != nil {
		ca.headers = make(http.Header, len(a.callback.headers))
		for _, name := range a.callback.headers {
			if v := r.Header.Values(name); len(v) > 0 {
				ca.headers[name] = v
			}
		}
	}
	return ca
}

// AllowJoin applies allow_join, then asks the callback. It runs before the
// hub takes any lock, so the callback's round trip blocks only the joining
// connection.
func (a *roomAuth) AllowJoin(c *hub.Client, room string) error {
	ca, _ := c.Meta.(*connAuth)
	if ca == nil {
		ca = &connAuth{}
	}
	if a.join != nil && !matchAny(a.join, room, c, ca) {
		return &hub.Error{Code: hub.CodeForbidden, Message: "not allowed to join " + quoteRoom(room)}
	}
	if a.callback != nil {
		return a.callback.allowJoin(c, room, ca)
	}
	return nil
}

// AllowPublish applies read_only, then allow_publish.
func (a *roomAuth) AllowPublish(c *hub.Client, room string) error {
	ca, _ := c.Meta.(*connAuth)
	if ca == nil {
		ca = &connAuth{}
	}
	if matchAny(a.readOnly, room, c, ca) {
		return &hub.Error{Code: hub.CodeForbidden, Message: quoteRoom(room) + " is read-only: only the server publishes there"}
	}
	if a.publish != nil && !matchAny(a.publish, room, c, ca) {
		return &hub.Error{Code: hub.CodeForbidden, Message: "not allowed to publish in " + quoteRoom(room)}
	}
	return nil
}

// quoteRoom quotes a room name for an error message, cut to a sane length.
func quoteRoom(room string) string {
	if len(room) > 64 {
		room = room[:64] + "..."
	}
	return fmt.Sprintf("%q", room)
}

var _ hub.Authorizer = (*roomAuth)(nil)
