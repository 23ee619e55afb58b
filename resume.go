package caddyrooms

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyrooms/caddyrooms/hub"
)

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
