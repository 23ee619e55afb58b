package caddyrooms

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddyrooms/caddyrooms/hub"
)

// Who may join and publish where: the route's allow lists, read-only rooms
// and join callback, checked by the hub on every join (the route's room
// included) and publish.
//
// A room pattern is text in which `*` matches any run of characters (none,
// and `:` or `/` included) and placeholders are replaced per connection:
// `{user}` by its identity, `{client}` by its connection id, and any Caddy
// placeholder such as `{http.request.uri.query.team}` by its value at the
// handshake. A replaced value is matched as literal text, never as a
// pattern: a user called `*` matches a room called `*` only. A pattern
// whose placeholder is empty or unknown for the connection matches no room,
// so that `user:{user}:*` lets no anonymous connection in.

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

// pattern is a compiled room pattern.
type pattern []part

type partKind uint8

const (
	partLiteral     partKind = iota
	partStar                 // *
	partUser                 // {user}
	partClient               // {client}
	partPlaceholder          // any other {...}: a Caddy placeholder
)

type part struct {
	kind partKind
	text string // the literal, or the placeholder's key
}

// parsePattern compiles s. `*` is a wildcard; `{...}` a placeholder.
func parsePattern(s string) (pattern, error) {
	if s == "" {
		return nil, fmt.Errorf("empty room pattern")
	}
	var p pattern
	lit := func(t string) {
		if t == "" {
			return
		}
		if n := len(p); n > 0 && p[n-1].kind == partLiteral {
			p[n-1].text += t
			return
		}
		p = append(p, part{kind: partLiteral, text: t})
	}
	for rest := s; rest != ""; {
		i := strings.IndexAny(rest, "*{}")
		if i < 0 {
			lit(rest)
			break
		}
		lit(rest[:i])
		switch rest[i] {
		case '*':
			if n := len(p); n == 0 || p[n-1].kind != partStar {
				p = append(p, part{kind: partStar})
			}
			rest = rest[i+1:]
		case '}':
			return nil, fmt.Errorf("room pattern %q: unopened }", s)
		case '{':
			end := strings.IndexByte(rest[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("room pattern %q: unclosed {", s)
			}
			key := rest[i+1 : i+end]
			switch {
			case key == "" || strings.ContainsAny(key, "{*"):
				return nil, fmt.Errorf("room pattern %q: bad placeholder {%s}", s, key)
			case key == "user":
				p = append(p, part{kind: partUser})
			case key == "client":
				p = append(p, part{kind: partClient})
			default:
				p = append(p, part{kind: partPlaceholder, text: key})
			}
			rest = rest[i+end+1:]
		}
	}
	return p, nil
}

func matchAny(ps []pattern, room string, c *hub.Client, ca *connAuth) bool {
	for _, p := range ps {
		if p.match(room, c, ca) {
			return true
		}
	}
	return false
}

// match reports whether room matches p for the connection c: placeholders
// are replaced by literal text, then `*` matches any run of characters.
func (p pattern) match(room string, c *hub.Client, ca *connAuth) bool {
	// segs are the literal runs between stars
	segs := make([]string, 1, 4)
	for _, pt := range p {
		var v string
		switch pt.kind {
		case partStar:
			segs = append(segs, "")
			continue
		case partLiteral:
			v = pt.text
		case partUser:
			v = c.User
		case partClient:
			v = c.ID
		case partPlaceholder:
			v = ca.values[pt.text]
		}
		if v == "" {
			return false // an empty placeholder matches nothing
		}
		segs[len(segs)-1] += v
	}
	return globMatch(segs, room)
}

// globMatch matches s against the literal runs segs, which a `*` separates:
// the first is a prefix, the last a suffix, and the others appear in order
// between them.
func globMatch(segs []string, s string) bool {
	if len(segs) == 1 {
		return s == segs[0]
	}
	first, last := segs[0], segs[len(segs)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, seg := range segs[1 : len(segs)-1] {
		i := strings.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

var _ hub.Authorizer = (*roomAuth)(nil)
