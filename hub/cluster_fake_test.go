package hub_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/caddyrooms/caddyrooms/hub"
)

// fakeBroker is a broker in memory that several hubs share, each through
// a fakeNode (its hub.Cluster): one seq per room for all of them, history,
// publish keys and members of every node, each node's traffic handed to
// its hub in order by one goroutine. down makes every call that would
// reach a real broker fail with hub.ErrUnavailable.
type fakeBroker struct {
	mu    sync.Mutex
	name  string // prefixes the epochs: two brokers never share one
	epoch int
	rooms map[string]*fakeRoom
	nodes map[string]*fakeNode
	down  atomic.Bool
	made  int // nodes named by the tests so far
}

type fakeRoom struct {
	pos     hub.Position
	limits  hub.HistoryLimits
	kept    []hub.ClusterMessage
	members map[string]fakeMember // by connection id
	keys    map[string]hub.Receipt
}

type fakeMember struct {
	hub.ClusterMember
	node string
}

func newFakeBroker(name string) *fakeBroker {
	return &fakeBroker{name: name, rooms: make(map[string]*fakeRoom), nodes: make(map[string]*fakeNode)}
}

// node returns a new node of the broker: a Cluster for one hub.
func (b *fakeBroker) node(name string) *fakeNode {
	return &fakeNode{b: b, name: name, subs: make(map[string]bool), q: newFakeQueue()}
}

func (b *fakeBroker) unavailable() error {
	if b.down.Load() {
		return fmt.Errorf("fake broker %s: %w", b.name, hub.ErrUnavailable)
	}
	return nil
}

// roomLocked returns the room, made with limits when it has no state.
func (b *fakeBroker) roomLocked(name string, limits hub.HistoryLimits) *fakeRoom {
	r := b.rooms[name]
	if r == nil {
		b.epoch++
		r = &fakeRoom{pos: hub.Position{Epoch: fmt.Sprintf("%s-%d", b.name, b.epoch)}, limits: limits,
			members: make(map[string]fakeMember), keys: make(map[string]hub.Receipt)}
		b.rooms[name] = r
	}
	return r
}

func (r *fakeRoom) counts() hub.Counts {
	users := make(map[string]bool)
	anon := 0
	for _, m := range r.members {
		if m.User == "" {
			anon++
		} else {
			users[m.User] = true
		}
	}
	return hub.Counts{Members: len(r.members), Users: len(users) + anon}
}

// eachNodeLocked calls fn for every node that receives room's traffic,
// but skip.
func (b *fakeBroker) eachNodeLocked(room, skip string, fn func(n *fakeNode)) {
	for name, n := range b.nodes {
		if name != skip && n.subs[room] {
			fn(n)
		}
	}
}

// fakeQueue hands a node's traffic to its hub in order, on one goroutine;
// it never blocks who pushes.
type fakeQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	items  []func()
	closed bool
	done   chan struct{}
}

func newFakeQueue() *fakeQueue {
	q := &fakeQueue{done: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *fakeQueue) push(fn func()) {
	q.mu.Lock()
	q.items = append(q.items, fn)
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *fakeQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		for len(q.items) == 0 && !q.closed {
			q.cond.Wait()
		}
		items := q.items
		q.items = nil
		closed := q.closed
		q.mu.Unlock()
		for _, fn := range items {
			fn()
		}
		if closed && len(items) == 0 {
			return
		}
	}
}

func (q *fakeQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Signal()
	<-q.done
}

// fakeNode is one hub's Cluster on a fakeBroker.
type fakeNode struct {
	b    *fakeBroker
	name string
	sink hub.ClusterSink
	subs map[string]bool // rooms with members here (under b.mu)
	q    *fakeQueue
}

func (n *fakeNode) Start(s hub.ClusterSink) {
	n.b.mu.Lock()
	n.sink = s
	n.b.nodes[n.name] = n
	n.b.mu.Unlock()
	go n.q.run()
}

func (n *fakeNode) Node() string { return n.name }

func (n *fakeNode) Close() error {
	n.b.mu.Lock()
	if n.b.nodes[n.name] == n {
		delete(n.b.nodes, n.name)
	}
	n.b.mu.Unlock()
	n.q.close()
	return nil
}

func (n *fakeNode) Join(room string, m hub.ClusterMember, limits hub.HistoryLimits, first bool) (hub.Position, hub.Counts, error) {
	if err := n.b.unavailable(); err != nil {
		return hub.Position{}, hub.Counts{}, err
	}
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	r := n.b.roomLocked(room, limits)
	r.members[m.Client] = fakeMember{m, n.name}
	if first {
		n.subs[room] = true
	}
	c := r.counts()
	n.b.eachNodeLocked(room, n.name, func(o *fakeNode) {
		o.q.push(func() { o.sink.RemotePresence(room, "join", m.Member, c) })
	})
	return r.pos, c, nil
}

func (n *fakeNode) Leave(room string, m hub.ClusterMember, last bool) hub.Counts {
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	if last {
		delete(n.subs, room)
	}
	r := n.b.rooms[room]
	if r == nil {
		return hub.Counts{}
	}
	if _, ok := r.members[m.Client]; !ok {
		return r.counts()
	}
	delete(r.members, m.Client)
	c := r.counts()
	n.b.eachNodeLocked(room, n.name, func(o *fakeNode) {
		o.q.push(func() { o.sink.RemotePresence(room, "leave", m.Member, c) })
	})
	return c
}

func (n *fakeNode) Publish(room string, msg hub.ClusterMessage, key string, requireMembers bool) (hub.Receipt, bool, bool, error) {
	if err := n.b.unavailable(); err != nil {
		return hub.Receipt{}, false, false, err
	}
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	r := n.b.rooms[room]
	if r == nil || (requireMembers && len(r.members) == 0) {
		return hub.Receipt{}, false, false, nil
	}
	if rc, ok := r.keys[key]; ok && key != "" {
		return rc, true, true, nil
	}
	r.pos.Seq++
	msg.Seq = r.pos.Seq
	if r.limits.Size > 0 {
		r.kept = append(r.kept, msg)
		if len(r.kept) > r.limits.Size {
			r.kept = r.kept[1:]
		}
	}
	rc := hub.Receipt{Seq: msg.Seq, Delivered: len(r.members)}
	if key != "" {
		r.keys[key] = rc
	}
	n.b.eachNodeLocked(room, "", func(o *fakeNode) {
		o.q.push(func() { o.sink.Deliver(room, msg) })
	})
	return rc, false, true, nil
}

func (n *fakeNode) Since(room string, seq, upTo uint64, limit int) ([]hub.ClusterMessage, hub.Position, bool, bool, error) {
	if err := n.b.unavailable(); err != nil {
		return nil, hub.Position{}, false, false, err
	}
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	r := n.b.rooms[room]
	if r == nil {
		return nil, hub.Position{}, false, false, nil
	}
	complete := seq >= r.pos.Seq || (len(r.kept) > 0 && r.kept[0].Seq <= seq+1)
	var out []hub.ClusterMessage
	for _, m := range r.kept {
		if m.Seq > seq && (upTo == 0 || m.Seq <= upTo) && (limit == 0 || len(out) < limit) {
			out = append(out, m)
		}
	}
	return out, r.pos, complete && seq <= r.pos.Seq, true, nil
}

func (n *fakeNode) Receipt(room, key string) (hub.Receipt, bool, error) {
	if err := n.b.unavailable(); err != nil {
		return hub.Receipt{}, false, err
	}
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	if r := n.b.rooms[room]; r != nil {
		rc, ok := r.keys[key]
		return rc, ok, nil
	}
	return hub.Receipt{}, false, nil
}

func (n *fakeNode) Page(room, after string, limit int) ([]hub.Member, hub.Counts, bool, error) {
	if err := n.b.unavailable(); err != nil {
		return nil, hub.Counts{}, false, err
	}
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	r := n.b.rooms[room]
	if r == nil {
		return []hub.Member{}, hub.Counts{}, false, nil
	}
	ids := make([]string, 0, len(r.members))
	for id := range r.members {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	more := len(ids) > limit
	page := make([]hub.Member, 0, min(limit, len(ids)))
	for _, id := range ids[:min(limit, len(ids))] {
		page = append(page, r.members[id].Member)
	}
	return page, r.counts(), more, nil
}

func (n *fakeNode) Rooms(prefix, after string, limit int) ([]hub.RoomSummary, error) {
	if err := n.b.unavailable(); err != nil {
		return nil, err
	}
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	var out []hub.RoomSummary
	for name, r := range n.b.rooms {
		if len(r.members) > 0 && strings.HasPrefix(name, prefix) && name > after {
			out = append(out, hub.RoomSummary{Name: name, Members: len(r.members)})
		}
	}
	slices.SortFunc(out, func(a, b hub.RoomSummary) int { return strings.Compare(a.Name, b.Name) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (n *fakeNode) Clients(room string) ([]hub.ClusterClient, hub.Counts, hub.Position, bool, error) {
	if err := n.b.unavailable(); err != nil {
		return nil, hub.Counts{}, hub.Position{}, false, err
	}
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	r := n.b.rooms[room]
	if r == nil || len(r.members) == 0 {
		return nil, hub.Counts{}, hub.Position{}, false, nil
	}
	var out []hub.ClusterClient
	for _, m := range r.members {
		out = append(out, hub.ClusterClient{MemberInfo: hub.MemberInfo{ID: m.Client, User: m.User, RemoteAddr: m.RemoteAddr, JoinedAt: m.JoinedAt}, Node: m.node})
	}
	return out, r.counts(), r.pos, true, nil
}

func (n *fakeNode) Kick(room, client string, code int) (bool, error) {
	if err := n.b.unavailable(); err != nil {
		return false, err
	}
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	r := n.b.rooms[room]
	if r == nil {
		return false, nil
	}
	m, ok := r.members[client]
	if o := n.b.nodes[m.node]; ok && o != nil {
		o.q.push(func() { o.sink.KickLocal(room, client, code) })
	}
	return ok, nil
}

func (n *fakeNode) Empty(room string) (bool, error) {
	if err := n.b.unavailable(); err != nil {
		return false, err
	}
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	r := n.b.rooms[room]
	if r == nil || len(r.members) == 0 {
		return false, nil
	}
	n.b.eachNodeLocked(room, "", func(o *fakeNode) {
		o.q.push(func() { o.sink.Emptied(room) })
	})
	return true, nil
}

var _ hub.Cluster = (*fakeNode)(nil)
