package caddyrooms_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/internal/redistest"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// TestClusterNodeKilled: when a node dies (kill -9), its members leave
// the rooms on the other nodes, with presence, within 30 s.
func TestClusterNodeKilled(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startNodes(t, rd.URL(), "a", "b")
	alice, _ := joinOn(t, nodes[0], "wake", "alice")
	bob, _ := joinOn(t, nodes[1], "wake", "bob")
	killed := time.Now()
	nodes[0].Kill()
	readUntil(t, bob.Client, 35*time.Second, func(f wstest.Frame) bool {
		if f.Type() != "presence" || f.Str("event") != "leave" {
			return false
		}
		if f.Str("client") != alice.ID || f.Num("members") != 1 {
			t.Fatalf("bob got %v, want alice's leave with 1 member", f)
		}
		return true
	})
	if took := time.Since(killed); took > 30*time.Second {
		t.Fatalf("alice left %s after her node died, over the 30 s bound", took)
	}
	if l := admListRooms(t, nodes[1], "/rooms/"); l.String() != "wake:1" {
		t.Fatalf("GET /rooms/ on b: %s, want wake:1", l)
	}
}

// TestClusterRedisRestart: Redis stops mid-stream and comes back empty.
// Meanwhile publishes are refused (`unavailable`, HTTP 503) and nothing
// refused is delivered; connections stay open; within 15 s of Redis's
// return publishing works again; every acked message reaches every
// reader, live or, after a close 1012, by resuming or refetching.
func TestClusterRedisRestart(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startNodes(t, rd.URL(), "a", "b")
	pub, _ := joinOn(t, nodes[0], "flow", "pub")
	readers := make([]*member, 0, 2)
	for i, n := range nodes {
		r, _ := joinOn(t, n, "flow", fmt.Sprintf("reader%d", i))
		readers = append(readers, r)
	}
	acked, refused := make(map[string]bool), make(map[string]bool)
	n := 0
	send := func() wstest.Frame { // one publish, its answer noted
		n++
		f, closed := pub.tryPublish(n)
		switch {
		case closed:
			pub.dial(nil)
		case f.Type() == "ack":
			acked[fmt.Sprint(n)] = true
		case f.Str("code") == "unavailable":
			refused[fmt.Sprint(n)] = true
		default:
			t.Fatalf("publish %d: %v", n, f)
		}
		return f
	}
	for range 10 {
		if f := send(); f.Type() != "ack" {
			t.Fatalf("before the outage: %v", f)
		}
	}
	// delivered everywhere before Redis dies: a message in flight to a
	// node when a Redis without persistence is killed is gone with it
	for _, r := range readers {
		for range 10 {
			r.nextMessage()
		}
	}
	clear(acked)
	rd.Stop()
	waitFor(t, 10*time.Second, "a publish refused with unavailable", func() bool {
		return send().Str("code") == "unavailable"
	})
	waitFor(t, 10*time.Second, "an admin publish answered 503", func() bool {
		a := admDo(t, nodes[1], "POST", "/rooms/flow/messages", fmt.Sprintf(`"admin%d"`, n))
		if a.Status == 200 {
			acked[fmt.Sprintf(`admin%d`, n)] = true
		}
		var e struct{ Error string }
		return a.Status == 503 && json.Unmarshal(a.Body, &e) == nil && e.Error != ""
	})
	out, err := exec.Command(nodes[1].Bin, "rooms", "cluster", "--address", fmt.Sprintf("127.0.0.1:%d", nodes[1].AdminPort)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), " down ") {
		t.Fatalf("caddy rooms cluster while Redis is down: %v, want exit status 1\n%s", err, out)
	}
	rd.Restart()
	back := time.Now()
	waitFor(t, 15*time.Second, "a publish acked after Redis came back", func() bool {
		return send().Type() == "ack"
	})
	// the room is empty until its members, closed with 1012 when their
	// nodes saw the numbering start over, join again (pub does in send)
	waitFor(t, 15*time.Second-time.Since(back), "an admin publish to the room's members", func() bool {
		send()
		a := admDo(t, nodes[1], "POST", "/rooms/flow/messages", `"after"`)
		return a.Status == 200
	})
	for range 10 {
		send()
	}
	acked["after"] = true
	for _, r := range readers {
		r.collect(acked, refused, 20*time.Second)
	}
	if m := metScrape(t, nodes[0]); m[`caddy_rooms_broker_errors_total{op="publish"}`] < 1 {
		t.Fatalf("node a counted no failed publish: %v", m)
	}
	waitFor(t, 10*time.Second, "caddy_rooms_broker_up 1 again", func() bool {
		return metScrape(t, nodes[0])[`caddy_rooms_broker_up{hub="default"}`] == 1
	})
}

// TestClusterOnRedisCluster: rooms spread over the slots of a 3-master
// Redis Cluster work across nodes: order, the admin list, resume.
func TestClusterOnRedisCluster(t *testing.T) {
	servers := redistest.StartCluster(t, 3)
	nodes := startNodes(t, redistest.ClusterURL(servers), "a", "b")
	want := ""
	var first [2]*member
	for i := range 6 {
		room := fmt.Sprintf("room-%d", i)
		ma, _ := joinOn(t, nodes[0], room, "ann")
		mb, _ := joinOn(t, nodes[1], room, "ben")
		if f := ma.publish("hi", "1"); f.Type() != "ack" || f.Num("seq") != 1 {
			t.Fatalf("%s: %v", room, f)
		}
		admExpect(t, nodes[1], "POST", "/rooms/"+room+"/messages", `"server"`, 200, "")
		for _, m := range []*member{ma, mb} {
			if a, b := dataOf(t, m.nextMessage()), dataOf(t, m.nextMessage()); a != `"hi"` || b != `"server"` {
				t.Fatalf("%s in %s: %s then %s", m, room, a, b)
			}
		}
		want += room + ":2 "
		if i == 0 {
			first = [2]*member{ma, mb}
		}
	}
	if l := admListRooms(t, nodes[0], "/rooms/"); l.String()+" " != want {
		t.Fatalf("GET /rooms/: %s, want %s", l, want)
	}
	ma, mb := first[0], first[1]
	mb.Conn.Close()
	for k := range 3 {
		ma.publish(k, fmt.Sprint(k))
	}
	mb.node = nodes[0]
	if j := mb.dial(map[string]any{"epoch": mb.epoch, "seq": mb.seq}); j["recovered"] != true {
		t.Fatalf("resume: %v", j)
	}
	for k := range 3 {
		if f := mb.nextMessage(); dataOf(t, f) != fmt.Sprint(k) {
			t.Fatalf("replay: %v, want %d", f, k)
		}
	}
}

// waitFor calls try until it returns true, at most for d.
func waitFor(t *testing.T, d time.Duration, what string, try func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !try() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tryPublish publishes data with its own id and returns the answer; closed
// is true when the connection closed first.
func (m *member) tryPublish(data int) (answer wstest.Frame, closed bool) {
	m.t.Helper()
	id := fmt.Sprint(data)
	b := fmt.Appendf(nil, `{"type":"publish","room":%q,"data":%d,"id":%q}`, m.room, data, id)
	if err := m.Conn.WriteMessage(websocket.TextMessage, b); err != nil {
		return nil, true
	}
	for {
		_, b, err := m.Read(wstest.Timeout)
		if err != nil {
			if closeCode(err) == 0 {
				m.t.Fatalf("%s: %v", m, err)
			}
			return nil, true
		}
		var f wstest.Frame
		if err := json.Unmarshal(b, &f); err != nil {
			m.t.Fatal(err)
		}
		if (f.Type() == "ack" || f.Type() == "error") && f.Str("id") == id {
			return f, false
		}
	}
}

// collect reads until the member has got every message in want, for at
// most d, and fails on a message in refused. After a close (1012: the node
// missed messages, or Redis started over) it resumes, and when the resume
// cannot recover, refetches the room's history from the admin API.
func (m *member) collect(want, refused map[string]bool, d time.Duration) {
	m.t.Helper()
	got := make(map[string]bool)
	note := func(data string) {
		if refused[data] {
			m.t.Fatalf("%s got %s, whose publish was refused", m, data)
		}
		got[data] = true
	}
	deadline := time.Now().Add(d)
	for missing(want, got) > 0 {
		_, b, err := m.Read(time.Until(deadline))
		if err != nil && closeCode(err) != 0 {
			if j := m.dial(map[string]any{"epoch": m.epoch, "seq": m.seq}); j["recovered"] != true {
				m.refetch(note)
			}
			continue
		}
		if err != nil {
			m.t.Fatalf("%s: %d acked messages missing: %v", m, missing(want, got), err)
		}
		var f wstest.Frame
		if err := json.Unmarshal(b, &f); err != nil {
			m.t.Fatal(err)
		}
		if f.Type() == "message" {
			if f.Num("seq") != m.seq+1 {
				m.t.Fatalf("%s: seq %d after %d", m, f.Num("seq"), m.seq)
			}
			m.seq = f.Num("seq")
			note(unquote(dataOf(m.t, f)))
		}
	}
}

// refetch notes every message the room's history keeps, up to the
// member's seq, as an application does after `epoch_changed`.
func (m *member) refetch(note func(string)) {
	var page struct {
		Messages []struct {
			Seq  int64           `json:"seq"`
			Data json.RawMessage `json:"data"`
		} `json:"messages"`
	}
	admExpect(m.t, m.node, "GET", "/rooms/"+m.room+"/messages", "", 200, "").JSON(m.t, &page)
	for _, msg := range page.Messages {
		if msg.Seq <= m.seq {
			note(unquote(string(msg.Data)))
		}
	}
}

// unquote is a JSON string's text, or the JSON as it is.
func unquote(data string) string {
	var s string
	if json.Unmarshal([]byte(data), &s) == nil {
		return s
	}
	return data
}

func missing(want, got map[string]bool) int {
	n := 0
	for k := range want {
		if !got[k] {
			n++
		}
	}
	return n
}
