package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/redis/go-redis/v9"
)

// TestNew: New checks the URL and the node name, and talks to no Redis.
func TestNew(t *testing.T) {
	cases := []struct {
		url, node string
		ok        bool
	}{
		{"redis://127.0.0.1:1/0", "n1", true},
		{"rediss://user:pass@example.com:6380/2", "n1", true},
		{"unix:///tmp/redis.sock?db=1", "", true},
		{"redis+cluster://127.0.0.1:1?addr=127.0.0.1:2", "n1", true},
		{"redis+sentinel://127.0.0.1:1?master_name=m&addr=127.0.0.1:2", "n1", true},
		{"http://127.0.0.1:1", "n1", false},
		{"redis://127.0.0.1:1/notadb", "n1", false},
		{"", "n1", false},
		{"redis+bogus://127.0.0.1:1", "n1", false},
		{"redis://127.0.0.1:1/0", "two words", false},
	}
	for _, c := range cases {
		r, err := New(Options{URL: c.url, Node: c.node})
		if (err == nil) != c.ok {
			t.Errorf("New(%q, %q): %v, want ok %v", c.url, c.node, err, c.ok)
			continue
		}
		if err != nil {
			continue
		}
		h := r.Health()
		if h.State != "down" || h.Broker != "redis" || h.Node == "" {
			t.Errorf("New(%q): health before Start %+v", c.url, h)
		}
		if err := r.Close(); err != nil {
			t.Errorf("Close without Start: %v", err)
		}
	}
	if DefaultNode() != DefaultNode() || checkNode(DefaultNode()) != nil {
		t.Errorf("DefaultNode %q is not one usable name", DefaultNode())
	}
}

// TestOrderAcrossBrokers: concurrent publishers on two brokers; both
// deliver one order, the same, with no seq left out.
func TestOrderAcrossBrokers(t *testing.T) {
	_, a, b := twoNodes(t, nil)
	limits := hub.HistoryLimits{Size: 100, TTL: time.Minute}
	a.join(t, "chat", "a1", "", limits)
	b.join(t, "chat", "b1", "", limits)
	const publishers, each = 4, 50
	var wg sync.WaitGroup
	for p := range publishers {
		n := []*node{a, b}[p%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if _, _, _, err := n.Publish("chat", hub.ClusterMessage{Data: fmt.Appendf(nil, "%d-%d", p, i)}, "", true); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := publishers * each
	for _, n := range []*node{a, b} {
		waitFor(t, 10*time.Second, n.node+" got every message", func() bool { return len(n.sink.messages("chat")) >= total })
		checkRun(t, n.node, n.sink.messages("chat"), total)
	}
	ma, mb := a.sink.messages("chat"), b.sink.messages("chat")
	for i := range ma {
		if string(ma[i].Data) != string(mb[i].Data) {
			t.Fatalf("seq %d: %q on a, %q on b", ma[i].Seq, ma[i].Data, mb[i].Data)
		}
	}
	if a.obs.lags.Load() < int64(total) {
		t.Errorf("lag observed %d times, want %d", a.obs.lags.Load(), total)
	}
}

// TestGapRepair: messages the subscription misses are handed from the
// stream, in order, before the next one.
func TestGapRepair(t *testing.T) {
	_, a, b := twoNodes(t, func(_ *Options, r *Redis) {
		r.drop = func(room string, seq uint64) bool { return seq == 3 || seq == 4 }
	})
	limits := hub.HistoryLimits{Size: 10, TTL: time.Minute}
	a.join(t, "room", "a1", "", limits)
	for i := range 5 {
		b.publish(t, "room", fmt.Sprint(i), "")
	}
	waitFor(t, 5*time.Second, "five messages on a", func() bool { return len(a.sink.messages("room")) >= 5 })
	checkRun(t, "a", a.sink.messages("room"), 5)
	if n := a.obs.repaired.Load(); n != 2 {
		t.Errorf("gaps repaired: %d, want 2", n)
	}
	if got := string(a.sink.messages("room")[2].Data); got != "2" {
		t.Errorf("repaired seq 3 holds %q, want %q", got, "2")
	}
}

// TestResyncWhenTrimmed: a gap the stream no longer holds resyncs the
// room; Since says the history is incomplete and lists what is kept.
func TestResyncWhenTrimmed(t *testing.T) {
	_, a, b := twoNodes(t, func(_ *Options, r *Redis) {
		r.drop = func(room string, seq uint64) bool { return seq >= 2 && seq <= 4 }
	})
	limits := hub.HistoryLimits{Size: 2, TTL: time.Minute}
	a.join(t, "room", "a1", "", limits)
	for i := range 6 {
		b.publish(t, "room", fmt.Sprint(i), "")
	}
	waitFor(t, 5*time.Second, "a resync", func() bool { return len(a.sink.find("resync", "room")) == 1 })
	if a.obs.resynced.Load() != 1 {
		t.Errorf("resyncs observed: %d", a.obs.resynced.Load())
	}
	cases := []struct {
		since    uint64
		complete bool
		want     []uint64
	}{{0, false, []uint64{5, 6}}, {3, false, []uint64{5, 6}}, {4, true, []uint64{5, 6}}, {5, true, []uint64{6}}, {6, true, nil}}
	for _, c := range cases {
		msgs, pos, complete, ok, err := a.Since("room", c.since, 0, 0)
		if err != nil || !ok || pos.Seq != 6 || complete != c.complete || !slices.Equal(seqs(msgs), c.want) {
			t.Errorf("Since(%d): %v %+v complete %v ok %v %v; want %v complete %v", c.since, seqs(msgs), pos, complete, ok, err, c.want, c.complete)
		}
	}
}

// TestIdempotentKey: a key seen answers the first receipt and delivers
// nothing; a server publish needs members only when asked to.
func TestIdempotentKey(t *testing.T) {
	_, a, b := twoNodes(t, nil)
	a.join(t, "room", "a1", "", hub.HistoryLimits{Size: 10, TTL: time.Minute})
	rc1, dup1 := b.publish(t, "room", "x", "k1")
	rc2, dup2 := a.publish(t, "room", "x", "k1")
	if dup1 || !dup2 || rc1 != rc2 || rc1.Seq != 1 || rc1.Delivered != 1 {
		t.Fatalf("receipts %+v dup %v, %+v dup %v", rc1, dup1, rc2, dup2)
	}
	b.publish(t, "room", "y", "")
	waitFor(t, 5*time.Second, "two messages", func() bool { return len(a.sink.messages("room")) >= 2 })
	checkRun(t, "a", a.sink.messages("room"), 2)
	if rc, ok, err := b.Receipt("room", "k1"); err != nil || !ok || rc != rc1 {
		t.Errorf("Receipt(k1): %+v %v %v", rc, ok, err)
	}
	if _, ok, err := b.Receipt("room", "k2"); err != nil || ok {
		t.Errorf("Receipt(k2): %v %v", ok, err)
	}
	if _, _, found, err := b.Publish("nobody", hub.ClusterMessage{Data: []byte("1")}, "", true); err != nil || found {
		t.Errorf("publish requiring members into an empty room: found %v, %v", found, err)
	}
	if _, _, _, ok, _ := b.Since("nobody", 0, 0, 0); ok {
		t.Errorf("a room never numbered has history")
	}
	rc, _, found, err := b.Publish("nobody", hub.ClusterMessage{Data: []byte("1")}, "", false)
	if err != nil || !found || rc.Seq != 1 || rc.Delivered != 0 {
		t.Errorf("server publish into an empty room: %+v %v %v", rc, found, err)
	}
	if _, pos, _, ok, err := b.Since("nobody", 0, 0, 0); !ok || pos.Seq != 1 || err != nil {
		t.Errorf("the room a publish numbered: %+v %v %v", pos, ok, err)
	}
}

// TestPresenceAcrossBrokers: counts, pages, clients and presence events
// are the cluster's.
func TestPresenceAcrossBrokers(t *testing.T) {
	_, a, b := twoNodes(t, nil)
	var limits hub.HistoryLimits
	a.join(t, "room", "a1", "alice", limits)
	a.join(t, "room", "a2", "alice", limits)
	a.join(t, "room", "a3", "", limits)
	b.join(t, "room", "b1", "bob", limits)
	pos, c := b.join(t, "room", "b2", "alice", limits)
	if want := (hub.Counts{Members: 5, Users: 3}); c != want || pos.Epoch == "" {
		t.Fatalf("counts after the joins: %+v %+v, want %+v", c, pos, want)
	}
	waitFor(t, 5*time.Second, "b's joins seen on a", func() bool { return len(a.sink.find("presence", "room")) == 2 })
	if ev := a.sink.find("presence", "room"); ev[1].member != (hub.Member{Client: "b2", User: "alice"}) || ev[1].counts != c || ev[1].event != "join" {
		t.Errorf("presence on a: %+v", ev)
	}
	if n := len(b.sink.find("presence", "room")); n != 0 {
		t.Errorf("b, subscribed after a's joins, saw %d of them", n)
	}
	pages := []struct {
		after string
		want  []string
		more  bool
	}{{"", []string{"a1", "a2"}, true}, {"a2", []string{"a3", "b1"}, true}, {"b1", []string{"b2"}, false}}
	for _, p := range pages {
		page, pc, more, err := a.Page("room", p.after, 2)
		if err != nil || !slices.Equal(memberIDs(page), p.want) || more != p.more || pc != c {
			t.Errorf("Page(after %q): %v %+v more %v %v", p.after, memberIDs(page), pc, more, err)
		}
	}
	clients, cc, _, ok, err := a.Clients("room")
	if err != nil || !ok || len(clients) != 5 || cc != c || clients[3].Node != "node-b" || clients[0].Node != "node-a" || clients[0].User != "alice" {
		t.Errorf("Clients: %+v %+v %v %v", clients, cc, ok, err)
	}
	if c := b.leave("room", "b1", "bob"); c != (hub.Counts{Members: 4, Users: 2}) {
		t.Errorf("counts after a leave: %+v", c)
	}
	waitFor(t, 5*time.Second, "b1's leave seen on a", func() bool { return len(a.sink.find("presence", "room")) == 3 })
	if ev := a.sink.find("presence", "room")[2]; ev.event != "leave" || ev.member.Client != "b1" || ev.counts.Members != 4 {
		t.Errorf("leave on a: %+v", ev)
	}
}

// TestDeadNodeSweep: a node that stops beating loses its members within
// the bound, with leave events on the others.
func TestDeadNodeSweep(t *testing.T) {
	_, a, b := twoNodes(t, nil)
	var limits hub.HistoryLimits
	a.join(t, "room", "a1", "", limits)
	b.join(t, "room", "b1", "", limits)
	b.join(t, "room", "b2", "", limits)
	b.join(t, "only-b", "b3", "", limits)
	waitFor(t, 5*time.Second, "two live nodes, b's joins seen", func() bool {
		return a.Health().Nodes == 2 && len(a.sink.find("presence", "room")) == 2
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	bound := a.opt.NodeTimeout + 3*a.opt.HeartbeatInterval
	waitFor(t, bound+time.Second, "b's members gone", func() bool { return len(a.sink.find("presence", "room")) == 4 })
	if took := time.Since(stopped); took > bound {
		t.Errorf("sweep took %v, bound %v", took, bound)
	}
	for _, ev := range a.sink.find("presence", "room")[2:] {
		if ev.event != "leave" {
			t.Errorf("presence after the sweep: %+v", ev)
		}
	}
	page, c, _, err := a.Page("room", "", 0)
	if err != nil || !slices.Equal(memberIDs(page), []string{"a1"}) || c.Members != 1 {
		t.Errorf("after the sweep: %v %+v %v", memberIDs(page), c, err)
	}
	rooms, err := a.Rooms("", "", 0)
	if err != nil || len(rooms) != 1 || rooms[0] != (hub.RoomSummary{Name: "room", Members: 1}) {
		t.Errorf("rooms after the sweep: %+v %v", rooms, err)
	}
}

// TestRedisDownAndRestarted: with Redis gone calls fail fast with
// ErrUnavailable and one log line; Redis back empty, the node records its
// members again and the room resyncs to the new numbering.
func TestRedisDownAndRestarted(t *testing.T) {
	s, a, _ := twoNodes(t, nil)
	a.join(t, "room", "a1", "", hub.HistoryLimits{Size: 10, TTL: time.Minute})
	a.publish(t, "room", "before", "")
	waitFor(t, 5*time.Second, "the first message", func() bool { return len(a.sink.messages("room")) == 1 })
	epoch := func() string { _, _, pos, _, _ := a.Clients("room"); return pos.Epoch }()
	s.Stop()
	for range 3 {
		start := time.Now()
		_, _, _, err := a.Publish("room", hub.ClusterMessage{Data: []byte("lost")}, "", false)
		if !errors.Is(err, hub.ErrUnavailable) || time.Since(start) > 2500*time.Millisecond {
			t.Fatalf("publish with Redis down: %v after %v", err, time.Since(start))
		}
	}
	m := hub.ClusterMember{Member: hub.Member{Client: "x"}}
	if _, _, err := a.Join("other", m, hub.HistoryLimits{}, true); !errors.Is(err, hub.ErrUnavailable) {
		t.Fatalf("join with Redis down: %v", err)
	}
	waitFor(t, 5*time.Second, "health down", func() bool { return a.Health().State == "down" })
	s.Restart()
	waitFor(t, 10*time.Second, "a resync", func() bool { return len(a.sink.find("resync", "room")) > 0 })
	waitFor(t, 10*time.Second, "a1 recorded again", func() bool {
		page, _, _, err := a.Page("room", "", 0)
		return err == nil && slices.Equal(memberIDs(page), []string{"a1"})
	})
	clients, _, pos, _, err := a.Clients("room")
	if err != nil || len(clients) != 1 || pos.Epoch == epoch || pos.Epoch == "" {
		t.Errorf("after the restart: %+v %+v %v (epoch before %s)", clients, pos, err, epoch)
	}
	waitFor(t, 5*time.Second, "health up", func() bool { return a.Health().State == "up" })
	rc, _ := a.publish(t, "room", "after", "")
	waitFor(t, 5*time.Second, "the message after", func() bool {
		ms := a.sink.messages("room")
		return len(ms) == 2 && ms[1].Seq == rc.Seq && string(ms[1].Data) == "after"
	})
	if n := a.logs.FilterMessage("redis unreachable: rooms cannot publish until it is back").Len(); n != 1 {
		t.Errorf("%d outage lines, want 1", n)
	}
	if n := a.logs.FilterMessage("redis reachable again").Len(); n != 1 {
		t.Errorf("%d recovery lines, want 1", n)
	}
	if a.obs.downs.Load() != 1 || a.obs.ups.Load() != 2 {
		t.Errorf("states observed: %d down, %d up", a.obs.downs.Load(), a.obs.ups.Load())
	}
}

// TestResubscribeRepairs: an idle subscription is probed without being
// taken for dead; when it is cut, its resubscription checks the room's top
// seq and hands what was missed, with no later message needed.
func TestResubscribeRepairs(t *testing.T) {
	s, a, b := twoNodes(t, func(o *Options, r *Redis) {
		o.ProbeInterval = 100 * time.Millisecond
		r.drop = func(room string, seq uint64) bool { return seq >= 2 }
	})
	a.join(t, "room", "a1", "", hub.HistoryLimits{Size: 10, TTL: time.Minute})
	a.publish(t, "room", "1", "")
	waitFor(t, 5*time.Second, "the first message", func() bool { return len(a.sink.messages("room")) == 1 })
	time.Sleep(500 * time.Millisecond) // idle: probed a few times
	if a.obs.downs.Load() != 0 || a.Health().State != "up" {
		t.Fatalf("an idle, probed subscription was taken for dead: %+v", a.Health())
	}
	b.publish(t, "room", "2", "")
	b.publish(t, "room", "3", "")
	time.Sleep(100 * time.Millisecond)
	if n := len(a.sink.messages("room")); n != 1 {
		t.Fatalf("%d messages before the resubscription, want 1", n)
	}
	kill := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer kill.Close()
	if err := kill.ClientKillByFilter(context.Background(), "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the missed messages", func() bool { return len(a.sink.messages("room")) == 3 })
	checkRun(t, "a", a.sink.messages("room"), 3)
	if n := a.obs.repaired.Load(); n != 2 {
		t.Errorf("repaired %d, want 2", n)
	}
}

// TestSweptNodeRecordsAgain: a live node taken for dead (swept while it
// paused) records its members again at its next heartbeat.
func TestSweptNodeRecordsAgain(t *testing.T) {
	_, a, b := twoNodes(t, nil)
	var limits hub.HistoryLimits
	a.join(t, "room", "a1", "", limits)
	for _, id := range []string{"b1", "b2", "b3"} {
		b.join(t, "room", id, "u-"+id, limits)
	}
	ctx := context.Background()
	if err := a.client.ZRem(ctx, nodesKey, "node-b").Err(); err != nil {
		t.Fatal(err)
	}
	a.sweepNode("node-b")
	if _, c, _, err := a.Page("room", "", 0); err != nil || c.Members != 1 {
		t.Fatalf("after the sweep: %+v %v", c, err)
	}
	waitFor(t, 5*time.Second, "b's members recorded again", func() bool {
		page, c, _, err := a.Page("room", "", 0)
		return err == nil && slices.Equal(memberIDs(page), []string{"a1", "b1", "b2", "b3"}) && c == (hub.Counts{Members: 4, Users: 4})
	})
	ev := a.sink.find("presence", "room")
	if n := len(ev); n != 9 || ev[3].event != "leave" || ev[6].event != "join" {
		t.Errorf("presence on a: %+v", ev)
	}
}
