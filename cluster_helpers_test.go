package caddyrooms_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// The cluster tests' nodes: real Caddy processes sharing rooms through a
// real redis-server that the test starts (internal/redistest), never the
// machine's own.

// clusterSite is one node: rooms on /ws/{room}, a route without a room on
// /free, the user from ?user=. {URL} and {NODE} are the broker's URL and
// the node's name.
const clusterSite = `{
	admin 127.0.0.1:{ADMIN}
	auto_https off
	rooms {
		broker redis {URL}
		node {NODE}
	}
}
:{PORT} {
	rooms /ws/* {
		room {path.1}
		user {query.user}
		send_queue 16MiB
	}
	rooms /free {
		user {query.user}
		send_queue 16MiB
	}
}`

// nodeConfig is clusterSite for the node called name on the broker url.
func nodeConfig(url, name string) string {
	return strings.NewReplacer("{URL}", url, "{NODE}", name).Replace(clusterSite)
}

// startNodes starts one Caddy per name, all on the broker url.
func startNodes(t *testing.T, url string, names ...string) []*testcaddy.Caddy {
	t.Helper()
	nodes := make([]*testcaddy.Caddy, len(names))
	for i, name := range names {
		nodes[i] = testcaddy.Start(t, nodeConfig(url, name))
	}
	t.Cleanup(func() { // what each node said, when the test failed
		if t.Failed() {
			for i, n := range nodes {
				t.Logf("node %s printed:\n%s", names[i], quietLog(n.Log()))
			}
		}
	})
	return nodes
}

// member is a test client in one room of a cluster, on one node.
type member struct {
	*wstest.Client
	t     *testing.T
	node  *testcaddy.Caddy
	room  string
	user  string
	epoch string // of its last joined
	seq   int64  // the last message's seq it got

	pending []wstest.Frame // messages read while waiting for an ack
}

// joinOn connects user to node's /free route and joins room.
func joinOn(t *testing.T, node *testcaddy.Caddy, room, user string) (*member, wstest.Frame) {
	t.Helper()
	m := &member{t: t, node: node, room: room, user: user}
	j := m.dial(nil)
	return m, j
}

// dial (re)connects the member and joins its room, with since when given;
// it returns `joined`.
func (m *member) dial(since map[string]any) wstest.Frame {
	m.t.Helper()
	m.Client = wstest.Dial(m.t, m.node.URL("ws")+"/free?user="+m.user, nil)
	m.Name = fmt.Sprintf("%s on %d", m.user, m.node.Port)
	m.ExpectWelcome("")
	msg := map[string]any{"type": "join", "room": m.room, "id": "join"}
	if since != nil {
		msg["since"] = since
	}
	m.Send(msg)
	j := m.ExpectSkipping("joined", "presence", "presence_diff")
	m.epoch = j.Str("epoch")
	if j["recovered"] != true { // a resume goes on from where it was
		m.seq = j.Num("seq")
	}
	return j
}

// publish sends data into the member's room with id and returns the
// answer, an `ack` or an `error`, skipping the room's traffic.
func (m *member) publish(data any, id string) wstest.Frame {
	m.t.Helper()
	m.Send(map[string]any{"type": "publish", "room": m.room, "data": data, "id": id})
	for {
		f := m.Next()
		if (f.Type() == "ack" || f.Type() == "error") && f.Str("id") == id {
			return f
		}
		if f.Type() == "message" { // with a broker it may come before the ack
			m.pending = append(m.pending, f)
		}
		if !isTraffic(f) {
			m.t.Fatalf("%s: got %v while waiting for the answer to %s", m, f, id)
		}
	}
}

// isTraffic is true for the frames a member gets from its room.
func isTraffic(f wstest.Frame) bool {
	switch f.Type() {
	case "message", "presence", "presence_diff", "ack":
		return true
	}
	return false
}

// nextMessage returns the member's next message (first those publish read
// past), skipping presence and acks, and checks it is the one after the
// last it got.
func (m *member) nextMessage() wstest.Frame {
	m.t.Helper()
	var f wstest.Frame
	if len(m.pending) > 0 {
		f, m.pending = m.pending[0], m.pending[1:]
	} else {
		f = m.ExpectSkipping("message", "presence", "presence_diff", "ack")
	}
	if got := f.Num("seq"); m.seq >= 0 && got != m.seq+1 {
		m.t.Fatalf("%s: message seq %d after %d: %v", m, got, m.seq, f)
	}
	m.seq = f.Num("seq")
	return f
}

// dataOf is a message's data as compact JSON.
func dataOf(t *testing.T, f wstest.Frame) string {
	t.Helper()
	b, err := json.Marshal(f["data"])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// readUntil reads frames until pick returns true for one, for at most d
// (one read, so that a timeout ends the test rather than the connection);
// frames before it are passed to pick too.
func readUntil(t *testing.T, c *wstest.Client, d time.Duration, pick func(wstest.Frame) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		_, b, err := c.Read(time.Until(deadline))
		if err != nil {
			t.Fatalf("%s: no awaited frame within %s: %v", c, d, err)
		}
		var f wstest.Frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: frame %q is not JSON: %v", c, b, err)
		}
		if pick(f) {
			return
		}
	}
}

// closeCode is the close code of a connection's end, 0 when it ended
// otherwise.
func closeCode(err error) int {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// admDetailNodes is GET /rooms/{room} with each client's node.
type admDetailNodes struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
	Clients []struct {
		ID   string `json:"id"`
		User string `json:"user"`
		Node string `json:"node"`
	} `json:"clients"`
}

// nodesOf maps each client's user to its node.
func (d admDetailNodes) nodesOf() map[string]string {
	out := make(map[string]string)
	for _, c := range d.Clients {
		out[c.User] = c.Node
	}
	return out
}

// quietLog is a node's log without the admin API's request lines.
func quietLog(log string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(log, "\n") {
		if !strings.Contains(line, `"msg":"received request"`) {
			b.WriteString(line)
		}
	}
	return b.String()
}
