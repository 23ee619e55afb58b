package caddyrooms_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/internal/redistest"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// TestClusterOrderAcrossNodes: publishers on three nodes send at once; a
// reader on every node gets every message once, with seqs 1, 2, 3, ... in
// one order, the same on all nodes, and each acked seq is the seq of that
// very message.
func TestClusterOrderAcrossNodes(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startNodes(t, rd.URL(), "a", "b", "c")
	const perNode, each = 2, 40
	var readers, pubs []*member
	for i, n := range nodes {
		r, _ := joinOn(t, n, "order", fmt.Sprintf("reader%d", i))
		readers = append(readers, r)
		for k := range perNode {
			p, _ := joinOn(t, n, "order", fmt.Sprintf("pub%d-%d", i, k))
			pubs = append(pubs, p)
		}
	}
	errs := make(chan error, len(pubs))
	for i, p := range pubs {
		go func() { // writes only: reads stay on the test goroutine
			for k := range each {
				b := fmt.Appendf(nil, `{"type":"publish","room":"order","data":{"p":%d,"n":%d},"id":"%d"}`, i, k, k)
				if err := p.Conn.WriteMessage(websocket.TextMessage, b); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range pubs {
		if err := <-errs; err != nil {
			t.Fatalf("publishing: %v", err)
		}
	}
	total := len(pubs) * each
	var order []string // data by seq-1, as the first reader got it
	for ri, r := range readers {
		for s := range total {
			d := dataOf(t, r.nextMessage())
			if ri == 0 {
				order = append(order, d)
			} else if d != order[s] {
				t.Fatalf("%s: seq %d is %s, but %s on the first node", r, s+1, d, order[s])
			}
		}
	}
	for i, p := range pubs {
		last := int64(0)
		for acks := 0; acks < each; {
			f := p.ExpectSkipping("ack", "message", "presence", "presence_diff")
			k := f.Str("id")
			seq := f.Num("seq")
			if want := fmt.Sprintf(`{"n":%s,"p":%d}`, k, i); order[seq-1] != want {
				t.Fatalf("%s: ack of %s says seq %d, which is %s", p, want, seq, order[seq-1])
			}
			if seq <= last {
				t.Fatalf("%s: acks out of its own order: seq %d after %d", p, seq, last)
			}
			last = seq
			acks++
		}
	}
}

// TestClusterPresenceAcrossNodes: joins and leaves on one node reach the
// members on the others, with counts for the whole cluster.
func TestClusterPresenceAcrossNodes(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startNodes(t, rd.URL(), "a", "b")
	alice, j := joinOn(t, nodes[0], "hall", "alice")
	if j.Num("members") != 1 {
		t.Fatalf("alice's joined: %v", j)
	}
	bob, j := joinOn(t, nodes[1], "hall", "bob")
	if j.Num("members") != 2 || j.Num("users") != 2 {
		t.Fatalf("bob's joined on the other node: %v, want 2 members, 2 users", j)
	}
	if got := fmt.Sprint(j["clients"]); !strings.Contains(got, alice.ID) || !strings.Contains(got, bob.ID) {
		t.Fatalf("bob's joined lists %s, want alice %s and bob %s", got, alice.ID, bob.ID)
	}
	p := alice.ExpectSkipping("presence")
	if p.Str("event") != "join" || p.Str("client") != bob.ID || p.Str("user") != "bob" || p.Num("members") != 2 {
		t.Fatalf("alice got %v, want bob's join with 2 members", p)
	}
	bob2, j := joinOn(t, nodes[0], "hall", "bob") // bob's second tab, on alice's node
	if j.Num("members") != 3 || j.Num("users") != 2 {
		t.Fatalf("bob's second joined: %v, want 3 members, 2 users", j)
	}
	if p := bob.ExpectSkipping("presence"); p.Str("client") != bob2.ID || p.Num("members") != 3 {
		t.Fatalf("bob got %v, want his second tab's join", p)
	}
	alice.ExpectSkipping("presence") // bob2's join
	alice.Send(map[string]any{"type": "members", "room": "hall", "id": "m"})
	page := alice.ExpectSkipping("members", "presence")
	if page.Num("members") != 3 || !strings.Contains(fmt.Sprint(page["clients"]), bob.ID) {
		t.Fatalf("alice's members page: %v, want 3 members with bob on the other node", page)
	}
	bob.Conn.Close()
	p = alice.ExpectSkipping("presence")
	if p.Str("event") != "leave" || p.Str("client") != bob.ID || p.Num("members") != 2 {
		t.Fatalf("alice got %v, want bob's leave with 2 members", p)
	}
}

// TestClusterAdmin: the admin API of any node answers for the whole
// cluster: list, detail with each client's node, publish, kick and empty,
// and GET /rooms-cluster tells the broker's health; `caddy rooms show`
// prints the node column.
func TestClusterAdmin(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startNodes(t, rd.URL(), "a", "b")
	a, b := nodes[0], nodes[1]
	alice, _ := joinOn(t, a, "lobby", "alice")
	bob, _ := joinOn(t, b, "lobby", "bob")
	carol, _ := joinOn(t, b, "lounge", "carol")
	alice.ExpectSkipping("presence")
	for _, n := range nodes {
		if l := admListRooms(t, n, "/rooms/"); l.String() != "lobby:2 lounge:1" {
			t.Fatalf("GET /rooms/ on %d: %s, want lobby:2 lounge:1", n.Port, l)
		}
	}
	var d admDetailNodes
	admExpect(t, a, "GET", "/rooms/lobby", "", 200, "").JSON(t, &d)
	if got := d.nodesOf(); d.Members != 2 || got["alice"] != "a" || got["bob"] != "b" {
		t.Fatalf("GET /rooms/lobby on a: %+v, want alice on a and bob on b", d)
	}
	out, err := exec.Command(a.Bin, "rooms", "show", "lobby", "--address", fmt.Sprintf("127.0.0.1:%d", a.AdminPort)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "NODE") || !strings.Contains(string(out), bob.ID) {
		t.Fatalf("caddy rooms show: %v\n%s", err, out)
	}

	admExpect(t, b, "POST", "/rooms/lobby/messages", `{"text":"hi"}`, 200, "")
	for _, m := range []*member{alice, bob} {
		if f := m.nextMessage(); dataOf(t, f) != `{"text":"hi"}` || f.Str("from") != "" {
			t.Fatalf("%s: %v, want the server's message", m, f)
		}
	}
	admExpect(t, a, "DELETE", "/rooms/lobby/clients/"+bob.ID, "", 204, "")
	bob.ExpectClose(4000, "disconnected by the operator")
	waitFor(t, 5*time.Second, "bob's leave recorded", func() bool {
		admExpect(t, a, "GET", "/rooms/lobby", "", 200, "").JSON(t, &d)
		return d.Members == 1
	})
	admExpect(t, a, "DELETE", "/rooms/lobby/clients/"+bob.ID, "", 404, "no client")
	admExpect(t, a, "DELETE", "/rooms/lounge", "", 204, "")
	if f := carol.ExpectSkipping("left", "presence"); f.Str("room") != "lounge" {
		t.Fatalf("carol got %v, want left lounge", f)
	}
	if l := admListRooms(t, b, "/rooms/"); l.String() != "lobby:1" {
		t.Fatalf("GET /rooms/ on b after kick and empty: %s, want lobby:1", l)
	}

	var h struct {
		Up   bool                      `json:"up"`
		Hubs map[string]map[string]any `json:"hubs"`
	}
	admExpect(t, b, "GET", "/rooms-cluster", "", 200, "").JSON(t, &h)
	if def := h.Hubs["default"]; !h.Up || def["state"] != "up" || def["node"] != "b" {
		t.Fatalf("GET /rooms-cluster on b: %+v", h)
	}
	out, err = exec.Command(b.Bin, "rooms", "cluster", "--address", fmt.Sprintf("127.0.0.1:%d", b.AdminPort)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "default  b     up") {
		t.Fatalf("caddy rooms cluster: %v\n%s", err, out)
	}
	m := metScrape(t, a)
	if m[`caddy_rooms_broker_up{hub="default"}`] != 1 || m["caddy_rooms_broker_pubsub_lag_seconds_count"] < 1 {
		t.Fatalf("node a's broker metrics: up %v, lag observations %v", m[`caddy_rooms_broker_up{hub="default"}`],
			m["caddy_rooms_broker_pubsub_lag_seconds_count"])
	}
}

// TestClusterResumeOnAnotherNode: a client that left one node resumes on
// another and gets exactly the messages it missed.
func TestClusterResumeOnAnotherNode(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startNodes(t, rd.URL(), "a", "b")
	pub, _ := joinOn(t, nodes[1], "news", "pub")
	m, _ := joinOn(t, nodes[0], "news", "reader")
	for k := range 5 {
		if f := pub.publish(k, fmt.Sprint(k)); f.Type() != "ack" {
			t.Fatalf("publish %d: %v", k, f)
		}
	}
	for range 5 {
		m.nextMessage()
	}
	m.Conn.Close()
	for k := 5; k < 12; k++ {
		pub.publish(k, fmt.Sprint(k))
	}
	m.node = nodes[1]
	j := m.dial(map[string]any{"epoch": m.epoch, "seq": m.seq})
	if j["recovered"] != true || j.Num("seq") != 12 {
		t.Fatalf("resume on the other node: %v, want recovered up to seq 12", j)
	}
	for k := 5; k < 12; k++ {
		if f := m.nextMessage(); dataOf(t, f) != fmt.Sprint(k) {
			t.Fatalf("replayed %v, want data %d", f, k)
		}
	}
	pub.publish("live", "live")
	if f := m.nextMessage(); dataOf(t, f) != `"live"` {
		t.Fatalf("after the replay: %v, want the live message", f)
	}
}

// TestClusterReload: a reload with the same broker settings keeps the
// broker; one that renames the node swaps the broker, and the connections
// stay open and in their rooms, now under the new name.
func TestClusterReload(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startNodes(t, rd.URL(), "a", "b")
	a, b := nodes[0], nodes[1]
	alice, _ := joinOn(t, a, "stay", "alice")
	bob, _ := joinOn(t, b, "stay", "bob")
	alice.ExpectSkipping("presence")
	since := func() any {
		var h struct{ Hubs map[string]map[string]any }
		admExpect(t, a, "GET", "/rooms-cluster", "", 200, "").JSON(t, &h)
		return h.Hubs["default"]["since"]
	}
	before := since()
	a.Reload(nodeConfig(rd.URL(), "a"))
	if after := since(); after != before {
		t.Fatalf("same settings: the broker changed (up since %v, then %v)", before, after)
	}
	a.Reload(nodeConfig(rd.URL(), "a2"))
	exchange := func(from, to *member, text string) {
		t.Helper()
		if f := from.publish(text, text); f.Type() != "ack" {
			t.Fatalf("%s: %v", from, f)
		}
		for _, m := range []*member{from, to} {
			if f := m.nextMessage(); dataOf(t, f) != `"`+text+`"` {
				t.Fatalf("%s: %v, want %q", m, f, text)
			}
		}
	}
	exchange(bob, alice, "after-rename")
	exchange(alice, bob, "from-a2")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var d admDetailNodes
		admExpect(t, b, "GET", "/rooms/stay", "", 200, "").JSON(t, &d)
		if got := d.nodesOf(); d.Members == 2 && got["alice"] == "a2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after renaming node a: %+v, want alice on a2 and 2 members", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterJoinAfterIdle: nodes that have had no client for longer than
// the broker's probe interval (5 s) still take joins and messages.
func TestClusterJoinAfterIdle(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startNodes(t, rd.URL(), "a", "b")
	time.Sleep(12 * time.Second) // idle: the subscriptions are probed
	alice, _ := joinOn(t, nodes[0], "late", "alice")
	bob, _ := joinOn(t, nodes[1], "late", "bob")
	if f := alice.publish("hello", "1"); f.Type() != "ack" {
		t.Fatalf("alice's publish after the idle time: %v", f)
	}
	for _, m := range []*member{alice, bob} {
		if f := m.nextMessage(); dataOf(t, f) != `"hello"` {
			t.Fatalf("%s: %v", m, f)
		}
	}
}

// TestClusterConcurrentFirstJoins: the first members of a room on two
// nodes join at the same moment; both are answered, and the room works.
func TestClusterConcurrentFirstJoins(t *testing.T) {
	rd := redistest.Start(t)
	nodes := startNodes(t, rd.URL(), "a", "b")
	for round := range 5 {
		room := fmt.Sprintf("both-%d", round)
		ms := make([]*member, 2)
		for i, n := range nodes {
			ms[i] = &member{t: t, node: n, room: room, user: fmt.Sprintf("u%d", i)}
			ms[i].Client = wstest.Dial(t, n.URL("ws")+"/free?user="+ms[i].user, nil)
			ms[i].ExpectWelcome("")
		}
		for _, m := range ms { // both joins on the wire before either answer
			m.Send(map[string]any{"type": "join", "room": room, "id": "j"})
		}
		for _, m := range ms {
			if j := m.ExpectSkipping("joined", "presence"); j.Str("room") != room {
				t.Fatalf("%s: %v", m, j)
			}
		}
		if f := ms[0].publish("x", "p"); f.Type() != "ack" {
			t.Fatalf("round %d: publish: %v", round, f)
		}
	}
}
