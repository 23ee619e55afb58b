package caddyrooms

import (
	"fmt"
	"strings"

	"github.com/caddyrooms/caddyrooms/hub"
)

// A room pattern is text in which `*` matches any run of characters (none,
// and `:` or `/` included) and placeholders are replaced per connection:
// `{user}` by its identity, `{client}` by its connection id, and any Caddy
// placeholder such as `{http.request.uri.query.team}` by its value at the
// handshake. A replaced value is matched as literal text, never as a
// pattern: a user called `*` matches a room called `*` only. A pattern
// whose placeholder is empty or unknown for the connection matches no room,
// so that `user:{user}:*` lets no anonymous connection in.

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
