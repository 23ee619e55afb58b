package caddyrooms

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyrooms/caddyrooms/hub"
)

// The route's side of history and resume (see hub/history.go for the
// engine's): the Caddyfile's history option and the handshake's query
// parameters for the route's own room.

// The handshake's query parameters that resume the route's own room, or
// ask for its recent messages, as a join's "since" and "last" do for rooms
// joined by message:
//
//	?rooms_since=<epoch>:<seq>   resume the route's room from that position
//	?rooms_last=<n>              the route's room's last n kept messages
const (
	sinceParam = "rooms_since"
	lastParam  = "rooms_last"
)

// resumeParams reads rooms_since and rooms_last; a malformed one is an
// error that names it, answered with HTTP 400 before any upgrade.
func resumeParams(q url.Values) (*hub.Position, int, error) {
	var since *hub.Position
	if s := q.Get(sinceParam); s != "" {
		i := strings.LastIndexByte(s, ':')
		seq, err := strconv.ParseUint(s[i+1:], 10, 64)
		if i <= 0 || err != nil {
			return nil, 0, fmt.Errorf("rooms: %s=%q: want <epoch>:<seq>, as in a joined frame", sinceParam, s)
		}
		since = &hub.Position{Epoch: s[:i], Seq: seq}
	}
	last := 0
	if s := q.Get(lastParam); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, 0, fmt.Errorf("rooms: %s=%q: want a whole number of messages", lastParam, s)
		}
		last = n
	}
	return since, last, nil
}

// unmarshalHistory reads `history <n> [<ttl>]` or `history off`.
func (h *Handler) unmarshalHistory(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	switch {
	case len(args) == 1 && args[0] == "off":
		h.HistorySize = -1
		return nil
	case len(args) < 1 || len(args) > 2:
		return d.ArgErr()
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		return d.Errf("history: %q is not off nor a whole number of at least 1", args[0])
	}
	h.HistorySize = n
	if len(args) == 2 {
		ttl, err := caddy.ParseDuration(args[1])
		if err != nil || ttl <= 0 {
			return d.Errf("history: %q is not a positive duration such as 5m", args[1])
		}
		h.HistoryTTL = caddy.Duration(ttl)
	}
	return nil
}
