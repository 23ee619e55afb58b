package hub_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// clusterServers serves n hubs that share rooms through b, their nodes
// named node-0, node-1, ... in the order b made them.
func clusterServers(t *testing.T, b *fakeBroker, n int, cfg hub.Config) []*server {
	t.Helper()
	out := make([]*server, n)
	for i := range out {
		b.made++
		out[i] = newServer(t, cfg, readMode{Options: hub.Options{Cluster: b.node(fmt.Sprint("node-", b.made-1))}})
	}
	return out
}

// readMessages reads n `message` frames, skipping any other, and fails
// unless their seqs follow from after+1; it returns their data.
func readMessages(t *testing.T, c *wstest.Client, after int64, n int) []string {
	t.Helper()
	var got []string
	for len(got) < n {
		f := c.Next()
		if f.Type() != "message" {
			continue
		}
		if want := after + int64(len(got)) + 1; f.Num("seq") != want {
			t.Fatalf("%s: message %v; want seq %d", c, f, want)
		}
		got = append(got, fmt.Sprint(f["data"]))
	}
	return got
}

func TestClusterOneOrderAcrossHubs(t *testing.T) {
	s := clusterServers(t, newFakeBroker("b"), 3, hub.Config{})
	const each = 60
	var readers, pubs []*wstest.Client
	for _, srv := range s {
		readers = append(readers, wstest.Join(t, srv.url("/r"), true))
		for range 2 {
			pubs = append(pubs, wstest.Join(t, srv.url("/r"), true))
		}
	}
	var wg sync.WaitGroup
	for i, p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				_ = p.Conn.WriteJSON(map[string]any{"type": "publish", "room": "r", "data": fmt.Sprintf("%d-%d", i, j)})
			}
		}()
	}
	wg.Wait()
	first := readMessages(t, readers[0], 0, len(pubs)*each)
	for i, r := range readers[1:] {
		got := readMessages(t, r, 0, len(pubs)*each)
		for k := range got {
			if got[k] != first[k] {
				t.Fatalf("hub %d's reader differs from hub 0's at %d: %s vs %s", i+1, k, got[k], first[k])
			}
		}
	}
}

func TestClusterRawSenderAcrossHubs(t *testing.T) {
	b := newFakeBroker("b")
	raw := clusterServers(t, b, 2, hub.Config{Protocol: hub.Raw})
	js := clusterServers(t, b, 1, hub.Config{})[0]
	sender := wstest.Dial(t, raw[0].url("/r"), nil)
	peer := wstest.Dial(t, raw[1].url("/r"), nil)
	waitMembers(t, js.hub, "r", 2) // the test server upgrades before the hub admits
	reader := wstest.Join(t, js.url("/r"), true)
	sender.SendRaw(websocket.BinaryMessage, []byte("not json"))
	if op, p, err := peer.Read(wstest.Timeout); err != nil || op != websocket.BinaryMessage || string(p) != "not json" {
		t.Fatalf("raw peer on another hub: %d %q %v", op, p, err)
	}
	if f := reader.Expect("message"); f.Str("data") != "not json" || f.Num("seq") != 1 {
		t.Fatalf("json member: %v", f)
	}
	sender.ExpectSilence(200 * time.Millisecond) // not its own message back
}

// waitMembers waits until the room has n members on the whole cluster.
func waitMembers(t *testing.T, h *hub.Hub, room string, n int) {
	t.Helper()
	deadline := time.Now().Add(wstest.Timeout)
	for {
		d, _, err := h.Room(room)
		if err == nil && d.Members == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s: %+v %v; want %d members", room, d, err, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClusterPresenceAndCounts(t *testing.T) {
	s := clusterServers(t, newFakeBroker("b"), 3, hub.Config{})
	var joined []*wstest.Client
	for _, tc := range []struct {
		hub, user      int // user 1 joins twice: two members, one user
		members, users int64
	}{
		{0, 0, 1, 1},
		{1, 1, 2, 2},
		{2, 1, 3, 2},
	} {
		c := wstest.Join(t, s[tc.hub].url(fmt.Sprint("/?user=u", tc.user)), false)
		j := joinAt(t, c, "p", nil, 0)
		list, _ := j["clients"].([]any)
		if j.Num("members") != tc.members || j.Num("users") != tc.users || len(list) != int(tc.members) {
			t.Fatalf("joined on hub %d: %v; want %d members, %d users", tc.hub, j, tc.members, tc.users)
		}
		for _, o := range joined {
			if f := o.Expect("presence"); f.Str("event") != "join" || f.Str("client") != c.ID || f.Str("user") != fmt.Sprint("u", tc.user) || f.Num("members") != tc.members {
				t.Fatalf("%s: presence %v; want %s joined", o, f, c.ID)
			}
		}
		joined = append(joined, c)
	}
	d, ok, err := s[0].hub.Room("p")
	if err != nil || !ok || d.Members != 3 || d.Users != 2 || len(d.Clients) != 3 {
		t.Fatalf("room detail: %+v %v %v", d, ok, err)
	}
	for i, c := range d.Clients {
		if c.ID != joined[i].ID || c.Node != fmt.Sprint("node-", i) {
			t.Fatalf("client %d: %+v; want %s on node-%d", i, c, joined[i].ID, i)
		}
	}
	if rooms, err := s[2].hub.Rooms("", "", 0); err != nil || len(rooms) != 1 || rooms[0] != (hub.RoomSummary{Name: "p", Members: 3}) {
		t.Fatalf("rooms: %+v %v", rooms, err)
	}
	joined[0].Send(map[string]any{"type": "members", "room": "p", "limit": 2, "id": "m"})
	if f := joined[0].Expect("members"); f.Num("members") != 3 || len(f["clients"].([]any)) != 2 || f.Str("next") == "" {
		t.Fatalf("members page: %v", f)
	}
	joined[1].Send(map[string]any{"type": "leave", "room": "p"})
	joined[1].Expect("left")
	for _, o := range []*wstest.Client{joined[0], joined[2]} {
		if f := o.Expect("presence"); f.Str("event") != "leave" || f.Str("client") != joined[1].ID || f.Num("members") != 2 {
			t.Fatalf("%s: presence %v; want %s left", o, f, joined[1].ID)
		}
	}
}

func TestClusterResumeOnAnotherHub(t *testing.T) {
	s := clusterServers(t, newFakeBroker("b"), 2, hub.Config{HistorySize: 3})
	for _, tc := range []struct {
		name      string
		since     func(epoch string, last uint64) *hub.Position
		last      int
		recovered any // true, false or nil (absent)
		reason    string
		replay    int
	}{
		{"quiet", func(e string, n uint64) *hub.Position { return &hub.Position{Epoch: e, Seq: n} }, 0, true, "", 0},
		{"missed two", func(e string, n uint64) *hub.Position { return &hub.Position{Epoch: e, Seq: n - 2} }, 0, true, "", 2},
		{"missed all kept", func(e string, n uint64) *hub.Position { return &hub.Position{Epoch: e, Seq: n - 3} }, 0, true, "", 3},
		{"too old", func(e string, n uint64) *hub.Position { return &hub.Position{Epoch: e, Seq: n - 4} }, 0, false, hub.ReasonTooOld, 0},
		{"ahead of the room", func(e string, n uint64) *hub.Position { return &hub.Position{Epoch: e, Seq: n + 1} }, 0, false, hub.ReasonTooOld, 0},
		{"epoch changed", func(_ string, n uint64) *hub.Position { return &hub.Position{Epoch: "other", Seq: n} }, 0, false, hub.ReasonEpochChanged, 0},
		{"last two", func(string, uint64) *hub.Position { return nil }, 2, nil, "", 2},
		{"last more than kept", func(string, uint64) *hub.Position { return nil }, 50, nil, "", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			room := "q-" + tc.name
			holder := joinAt(t, wstest.Join(t, s[0].url("/"), false), room, nil, 0)
			for range 5 {
				if _, ok, err := s[0].hub.Publish(room, json.RawMessage(`"before"`)); !ok || err != nil {
					t.Fatalf("publish: %v %v", ok, err)
				}
			}
			epoch := holder.Str("epoch")
			c := wstest.Join(t, s[1].url("/"), false)
			j := joinAt(t, c, room, tc.since(epoch, 5), tc.last)
			if j.Str("epoch") != epoch || j.Num("seq") != 5 || j["recovered"] != tc.recovered || j.Str("reason") != tc.reason {
				t.Fatalf("joined %v; want epoch %s seq 5 recovered %v reason %q", j, epoch, tc.recovered, tc.reason)
			}
			readMessages(t, c, int64(5-tc.replay), tc.replay)
			s[0].hub.Publish(room, json.RawMessage(`"live"`))
			if f := c.Expect("message"); f.Num("seq") != 6 || f.Str("data") != "live" {
				t.Fatalf("after the replay: %v; want the live message 6", f)
			}
		})
	}
}

func TestClusterHistoryAndKeys(t *testing.T) {
	s := clusterServers(t, newFakeBroker("b"), 2, hub.Config{})
	c := wstest.Join(t, s[0].url("/h"), true)
	c.Send(map[string]any{"type": "publish", "room": "h", "data": "one", "key": "k", "id": "1"})
	c.Send(map[string]any{"type": "publish", "room": "h", "data": "one", "key": "k", "id": "2"})
	first, again := c.ExpectSkipping("ack", "message"), c.ExpectSkipping("ack", "message")
	if first.Num("seq") != 1 || again.Num("seq") != 1 || again["duplicate"] != true {
		t.Fatalf("acks %v, %v", first, again)
	}
	p, ok, err := s[1].hub.PublishKeyed("h", json.RawMessage(`"two"`), "k2")
	if err != nil || !ok || p.Seq != 2 || p.Delivered != 1 {
		t.Fatalf("server publish from the other hub: %+v %v %v", p, ok, err)
	}
	if _, ok, err := s[1].hub.Publish("nobody", json.RawMessage(`1`)); ok || err != nil {
		t.Fatalf("publish into a room with no members: %v %v", ok, err)
	}
	page, ok, err := s[1].hub.History("h", 0, 0)
	if err != nil || !ok || page.Seq != 2 || len(page.Messages) != 2 || page.Messages[0].From != c.ID || string(page.Messages[1].Data) != `"two"` {
		t.Fatalf("history: %+v %v %v", page, ok, err)
	}
}

func TestClusterUnavailable(t *testing.T) {
	b := newFakeBroker("b")
	s := clusterServers(t, b, 1, hub.Config{MaxErrors: 3})[0]
	raw := clusterServers(t, b, 1, hub.Config{Protocol: hub.Raw})[0]
	member := wstest.Join(t, s.url("/u"), true)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"json publish answered, connection kept", func(t *testing.T) {
			for i := range 5 { // over max_errors: still open
				member.Send(map[string]any{"type": "publish", "room": "u", "data": i, "id": fmt.Sprint(i)})
				if e := member.ExpectError(hub.CodeUnavailable); e.Str("id") != fmt.Sprint(i) {
					t.Fatalf("error %v; want id %d", e, i)
				}
			}
		}},
		{"json join answered, no trace", func(t *testing.T) {
			member.Send(map[string]any{"type": "join", "room": "elsewhere", "id": "j"})
			member.ExpectError(hub.CodeUnavailable)
			b.down.Store(false)
			if _, ok, err := s.hub.Room("elsewhere"); ok || err != nil {
				t.Fatalf("the failed join left a room: %v %v", ok, err)
			}
			member.Send(map[string]any{"type": "publish", "room": "elsewhere", "data": 1})
			member.ExpectError(hub.CodeNotMember)
		}},
		{"raw publish closes with 1013", func(t *testing.T) {
			b.down.Store(false)
			c := wstest.Dial(t, raw.url("/u"), nil)
			waitMembers(t, s.hub, "u", 2)
			b.down.Store(true)
			c.SendRaw(websocket.TextMessage, []byte("hello"))
			c.ExpectClose(hub.CloseUnavailable, "broker unavailable: try again")
		}},
		{"server calls return ErrUnavailable", func(t *testing.T) {
			_, _, pubErr := s.hub.PublishKeyed("u", json.RawMessage(`1`), "key")
			_, _, roomErr := s.hub.Room("u")
			_, roomsErr := s.hub.Rooms("", "", 0)
			_, _, histErr := s.hub.History("u", 0, 0)
			_, kickErr := s.hub.Kick("u", "someone-elsewhere")
			_, emptyErr := s.hub.Empty("u")
			for i, err := range []error{pubErr, roomErr, roomsErr, histErr, kickErr, emptyErr} {
				if !errors.Is(err, hub.ErrUnavailable) {
					t.Errorf("call %d: %v; want ErrUnavailable", i, err)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.down.Store(true)
			defer b.down.Store(false)
			tc.run(t)
		})
	}
	member.Send(map[string]any{"type": "publish", "room": "u", "data": "back", "id": "ok"})
	if f := member.ExpectSkipping("message", "presence", "ack"); f.Str("data") != "back" || f.Num("seq") != 1 {
		t.Fatalf("after the outage: %v", f)
	}
}

func TestClusterResync(t *testing.T) {
	s := clusterServers(t, newFakeBroker("b"), 2, hub.Config{})
	here := wstest.Join(t, s[0].url("/r"), true)
	there := wstest.Join(t, s[1].url("/r"), true)
	waitMembers(t, s[0].hub, "r", 2)
	s[0].hub.Resync("r")
	here.ExpectClose(hub.CloseResync, "missed messages: resume")
	if f := there.Expect("presence"); f.Str("event") != "leave" || f.Str("client") != here.ID || f.Num("members") != 1 {
		t.Fatalf("the other hub's member: %v", f)
	}
	again := wstest.Join(t, s[0].url("/"), false)
	if j := joinAt(t, again, "r", nil, 0); j.Num("members") != 2 {
		t.Fatalf("joined after the resync: %v", j)
	}
}

func TestClusterEmptyAndKick(t *testing.T) {
	s := clusterServers(t, newFakeBroker("b"), 2, hub.Config{})
	for _, tc := range []struct {
		name string
		act  func(room, id string) (bool, error) // from hub 1, for a member of hub 0
		want func(t *testing.T, c *wstest.Client)
	}{
		{"kick reaches the member's hub", func(room, id string) (bool, error) { return s[1].hub.Kick(room, id) },
			func(t *testing.T, c *wstest.Client) { c.ExpectClose(hub.CloseKicked, "disconnected by the operator") }},
		{"kick with a code", func(room, id string) (bool, error) { return s[1].hub.KickWithCode(room, id, hub.ClosePolicy) },
			func(t *testing.T, c *wstest.Client) { c.ExpectClose(hub.ClosePolicy, "disconnected by the operator") }},
		{"empty reaches every hub, connections stay", func(room, _ string) (bool, error) { return s[1].hub.Empty(room) },
			func(t *testing.T, c *wstest.Client) {
				if f := c.ExpectSkipping("left", "presence"); f.Str("room") != "e-"+t.Name() {
					t.Fatalf("left: %v", f)
				}
				joinAt(t, c, "still-open", nil, 0)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			room := "e-" + t.Name()
			c := wstest.Join(t, s[0].url("/"), false)
			joinAt(t, c, room, nil, 0)
			other := wstest.Join(t, s[1].url("/"), false)
			joinAt(t, other, room, nil, 0)
			if ok, err := tc.act(room, c.ID); !ok || err != nil {
				t.Fatalf("%s: %v %v", tc.name, ok, err)
			}
			tc.want(t, c)
			if ok, err := tc.act("no-such-room", "nobody"); ok || err != nil {
				t.Fatalf("%s of nothing: %v %v", tc.name, ok, err)
			}
		})
	}
}

func TestSetCluster(t *testing.T) {
	for _, tc := range []struct {
		name   string
		next   func(b *fakeBroker) hub.Cluster
		moved  bool // the room's position moves on the broker meanwhile
		resync bool
	}{
		{"same broker, same position: kept", func(b *fakeBroker) hub.Cluster { return b.node("node-0") }, false, false},
		{"same broker, position moved: resync", func(b *fakeBroker) hub.Cluster { return b.node("node-0") }, true, true},
		{"another broker: resync", func(*fakeBroker) hub.Cluster { return newFakeBroker("other").node("x") }, false, true},
		{"no cluster: resync", func(*fakeBroker) hub.Cluster { return nil }, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBroker("b")
			s := clusterServers(t, b, 2, hub.Config{})
			c := wstest.Join(t, s[0].url("/s"), true)
			peer := wstest.Join(t, s[1].url("/s"), true)
			s[1].hub.Publish("s", json.RawMessage(`"before"`))
			readMessages(t, c, 0, 1)
			if tc.moved {
				b.mu.Lock()
				b.rooms["s"].pos.Seq += 3
				b.mu.Unlock()
			}
			next := tc.next(b)
			s[0].hub.SetCluster(next)
			if tc.resync {
				c.ExpectClose(hub.CloseResync, "missed messages: resume")
				again := joinAt(t, wstest.Join(t, s[0].url("/"), false), "s", nil, 0)
				if next == nil && (again.Num("seq") != 0 || again.Num("members") != 1) {
					t.Fatalf("joined the room of the hub alone: %v", again)
				}
				return
			}
			s[1].hub.Publish("s", json.RawMessage(`"after"`))
			if got := readMessages(t, c, 1, 1); got[0] != "after" {
				t.Fatalf("after the switch: %v", got)
			}
			peer.Send(map[string]any{"type": "publish", "room": "s", "data": "from the peer"})
			readMessages(t, c, 2, 1)
		})
	}
}

func TestClusterRemotePresenceBatched(t *testing.T) {
	s := clusterServers(t, newFakeBroker("b"), 2, hub.Config{PresenceList: 1, PresenceInterval: 50 * time.Millisecond})
	reader := wstest.Join(t, s[0].url("/big"), true)
	want := make(map[string]bool)
	for range 3 {
		c := wstest.Join(t, s[1].url("/"), false)
		joinAt(t, c, "big", nil, 0)
		want[c.ID] = true
	}
	for len(want) > 0 {
		f := reader.Expect("presence_diff") // never one `presence` per join
		joins, _ := f["joins"].([]any)
		for _, j := range joins {
			delete(want, j.(map[string]any)["client"].(string))
		}
		if len(want) == 0 && f.Num("members") != 4 {
			t.Fatalf("last presence_diff: %v; want 4 members", f)
		}
	}
	if got := s[1].hub.LocalMembers()["big"]; len(got) != 3 {
		t.Fatalf("hub 1's local members of big: %+v", got)
	}
	if got := s[0].hub.LocalMembers(); len(got) != 1 || len(got["big"]) != 1 || got["big"][0].Client != reader.ID {
		t.Fatalf("hub 0's local members: %+v", got)
	}
}
