package broker

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/redistest"
)

// TestKickAndEmpty: a kick reaches the node holding the member; an empty
// reaches every node with members.
func TestKickAndEmpty(t *testing.T) {
	_, a, b := twoNodes(t, nil)
	var limits hub.HistoryLimits
	a.join(t, "room", "a1", "", limits)
	b.join(t, "room", "b1", "", limits)
	cases := []struct {
		client string
		holder *node
		found  bool
	}{{"b1", b, true}, {"a1", a, true}, {"nobody", nil, false}}
	for _, c := range cases {
		ok, err := a.Kick("room", c.client, 4000)
		if err != nil || ok != c.found {
			t.Errorf("Kick(%s): %v %v", c.client, ok, err)
		}
		if c.holder == nil {
			continue
		}
		waitFor(t, 5*time.Second, "the kick of "+c.client, func() bool {
			ev := c.holder.sink.find("kick", "room")
			return len(ev) > 0 && ev[len(ev)-1].member.Client == c.client && ev[len(ev)-1].code == 4000
		})
	}
	if n := len(a.sink.find("kick", "room")) + len(b.sink.find("kick", "room")); n != 2 {
		t.Errorf("%d kicks handed on, want 2", n)
	}
	if ok, err := b.Empty("room"); !ok || err != nil {
		t.Fatalf("Empty(room): %v %v", ok, err)
	}
	for _, n := range []*node{a, b} {
		waitFor(t, 5*time.Second, n.node+" emptied", func() bool { return len(n.sink.find("emptied", "room")) == 1 })
	}
	if ok, err := b.Empty("nothing"); ok || err != nil {
		t.Errorf("Empty(nothing): %v %v", ok, err)
	}
}

// TestRooms: the cluster's rooms with members, by prefix, after a name and
// at most a limit.
func TestRooms(t *testing.T) {
	_, a, b := twoNodes(t, nil)
	var limits hub.HistoryLimits
	for _, room := range []string{"alpha", "beta1", "beta2", "gamma"} {
		a.join(t, room, "a-"+room, "", limits)
	}
	b.join(t, "beta2", "b1", "", limits)
	a.leave("gamma", "a-gamma", "")
	cases := []struct {
		prefix, after string
		limit         int
		want          []hub.RoomSummary
	}{
		{"", "", 0, []hub.RoomSummary{{Name: "alpha", Members: 1}, {Name: "beta1", Members: 1}, {Name: "beta2", Members: 2}}},
		{"beta", "", 0, []hub.RoomSummary{{Name: "beta1", Members: 1}, {Name: "beta2", Members: 2}}},
		{"beta", "beta1", 0, []hub.RoomSummary{{Name: "beta2", Members: 2}}},
		{"", "alpha", 1, []hub.RoomSummary{{Name: "beta1", Members: 1}}},
		{"", "", 2, []hub.RoomSummary{{Name: "alpha", Members: 1}, {Name: "beta1", Members: 1}}},
		{"delta", "", 0, []hub.RoomSummary{}},
	}
	for _, c := range cases {
		got, err := b.Rooms(c.prefix, c.after, c.limit)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("Rooms(%q, %q, %d): %+v %v, want %+v", c.prefix, c.after, c.limit, got, err, c.want)
		}
	}
	if h := a.Health(); h.Rooms != 3 || h.State != "up" {
		t.Errorf("health: %+v", h)
	}
}

// TestRedisCluster: on a 3-master Redis Cluster, rooms of every slot (and
// names that are no hash tag) keep one order across two nodes, with
// presence, history and the listing.
func TestRedisCluster(t *testing.T) {
	url := redistest.ClusterURL(redistest.StartCluster(t, 3))
	a, b := newNode(t, url, "node-a", nil), newNode(t, url, "node-b", nil)
	rooms := []string{"r1", "r2", "r3", "r4", "", "{x}", "~y", "a}b"}
	limits := hub.HistoryLimits{Size: 50, TTL: time.Minute}
	for i, room := range rooms {
		a.join(t, room, fmt.Sprint("a", i), "", limits)
		b.join(t, room, fmt.Sprint("b", i), "u", limits)
	}
	const each = 20
	var wg sync.WaitGroup
	for _, room := range rooms {
		for _, n := range []*node{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if _, _, _, err := n.Publish(room, hub.ClusterMessage{Data: fmt.Append(nil, i)}, "", true); err != nil {
						t.Errorf("publish in %q: %v", room, err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	for _, room := range rooms {
		for _, n := range []*node{a, b} {
			waitFor(t, 10*time.Second, fmt.Sprintf("%s: room %q", n.node, room), func() bool { return len(n.sink.messages(room)) >= 2*each })
			checkRun(t, n.node+" "+room, n.sink.messages(room), 2*each)
		}
		msgs, pos, complete, ok, err := a.Since(room, 2*each-5, 0, 0)
		if err != nil || !ok || !complete || len(msgs) != 5 || pos.Seq != 2*each {
			t.Errorf("Since in %q: %d %+v %v %v %v", room, len(msgs), pos, complete, ok, err)
		}
		if _, c, _, err := b.Page(room, "", 10); err != nil || c != (hub.Counts{Members: 2, Users: 2}) {
			t.Errorf("counts of %q: %+v %v", room, c, err)
		}
	}
	listed, err := a.Rooms("", "", 0)
	if err != nil || len(listed) != len(rooms) {
		t.Errorf("Rooms: %+v %v", listed, err)
	}
}
