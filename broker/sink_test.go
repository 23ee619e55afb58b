package broker

import (
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/redistest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// event is one call the broker made on a fakeSink, but Deliver.
type event struct {
	kind, room, event string
	member            hub.Member
	counts            hub.Counts
	code              int
}

// fakeSink records what a broker hands its hub, and plays the hub's local
// members.
type fakeSink struct {
	mu        sync.Mutex
	delivered map[string][]hub.ClusterMessage
	events    []event
	local     map[string][]hub.ClusterMember
}

func newSink() *fakeSink {
	return &fakeSink{delivered: map[string][]hub.ClusterMessage{}, local: map[string][]hub.ClusterMember{}}
}

func (s *fakeSink) Deliver(room string, m hub.ClusterMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delivered[room] = append(s.delivered[room], m)
}

func (s *fakeSink) add(e event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
}

func (s *fakeSink) RemotePresence(room, ev string, m hub.Member, c hub.Counts) {
	s.add(event{kind: "presence", room: room, event: ev, member: m, counts: c})
}
func (s *fakeSink) Emptied(room string) { s.add(event{kind: "emptied", room: room}) }
func (s *fakeSink) Resync(room string)  { s.add(event{kind: "resync", room: room}) }
func (s *fakeSink) KickLocal(room, client string, code int) bool {
	s.add(event{kind: "kick", room: room, member: hub.Member{Client: client}, code: code})
	return true
}

func (s *fakeSink) LocalMembers() map[string][]hub.ClusterMember {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]hub.ClusterMember, len(s.local))
	for room, ms := range s.local {
		out[room] = append([]hub.ClusterMember(nil), ms...)
	}
	return out
}

// messages returns what was delivered in room.
func (s *fakeSink) messages(room string) []hub.ClusterMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hub.ClusterMessage(nil), s.delivered[room]...)
}

// find returns the events of kind in room.
func (s *fakeSink) find(kind, room string) []event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []event
	for _, e := range s.events {
		if e.kind == kind && e.room == room {
			out = append(out, e)
		}
	}
	return out
}

// countingObserver counts what a broker observes.
type countingObserver struct {
	ups, downs, errors, lags, repaired, resynced atomic.Int64
}

func (o *countingObserver) State(up bool) {
	if up {
		o.ups.Add(1)
	} else {
		o.downs.Add(1)
	}
}
func (o *countingObserver) Error(string)      { o.errors.Add(1) }
func (o *countingObserver) Lag(time.Duration) { o.lags.Add(1) }
func (o *countingObserver) GapRepaired(n int) { o.repaired.Add(int64(n)) }
func (o *countingObserver) Resynced()         { o.resynced.Add(1) }

// node is one broker under test with its sink, observer and log.
type node struct {
	*Redis
	sink *fakeSink
	obs  *countingObserver
	logs *observer.ObservedLogs
}

// newNode starts a broker on url; tune may change its options (and set
// test hooks) before it starts.
func newNode(t *testing.T, url, name string, tune func(*Options, *Redis)) *node {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	n := &node{sink: newSink(), obs: &countingObserver{}, logs: logs}
	o := Options{URL: url, Node: name, Logger: zap.New(core), Observer: n.obs,
		HeartbeatInterval: 200 * time.Millisecond, NodeTimeout: time.Second, ProbeInterval: 500 * time.Millisecond}
	r, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if tune != nil {
		tune(&r.opt, r)
	}
	n.Redis = r
	r.Start(n.sink)
	t.Cleanup(func() { _ = r.Close() })
	return n
}

// join makes client (with user) a member of room on n, as a hub would.
func (n *node) join(t *testing.T, room, client, user string, limits hub.HistoryLimits) (hub.Position, hub.Counts) {
	t.Helper()
	m := hub.ClusterMember{Member: hub.Member{Client: client, User: user}, RemoteAddr: "127.0.0.1:1", JoinedAt: time.Now()}
	n.sink.mu.Lock()
	first := len(n.sink.local[room]) == 0
	n.sink.local[room] = append(n.sink.local[room], m)
	n.sink.mu.Unlock()
	pos, c, err := n.Join(room, m, limits, first)
	if err != nil {
		t.Fatalf("%s: Join(%q, %q): %v", n.node, room, client, err)
	}
	return pos, c
}

// leave makes client leave room on n, as a hub would.
func (n *node) leave(room, client, user string) hub.Counts {
	n.sink.mu.Lock()
	ms := n.sink.local[room]
	for i, m := range ms {
		if m.Client == client {
			ms = append(ms[:i], ms[i+1:]...)
			break
		}
	}
	n.sink.local[room] = ms
	last := len(ms) == 0
	if last {
		delete(n.sink.local, room)
	}
	n.sink.mu.Unlock()
	return n.Leave(room, hub.ClusterMember{Member: hub.Member{Client: client, User: user}}, last)
}

// publish publishes data in room through n.
func (n *node) publish(t *testing.T, room, data, key string) (hub.Receipt, bool) {
	t.Helper()
	rc, dup, found, err := n.Publish(room, hub.ClusterMessage{From: "c", Data: []byte(data)}, key, false)
	if err != nil || !found {
		t.Fatalf("%s: Publish(%q): found %v, %v", n.node, room, found, err)
	}
	return rc, dup
}

// waitFor waits, at most d, until cond holds.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// seqs are the seqs of msgs.
func seqs(msgs []hub.ClusterMessage) []uint64 {
	out := make([]uint64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

// checkRun fails unless msgs are seqs 1..n in order.
func checkRun(t *testing.T, who string, msgs []hub.ClusterMessage, n int) {
	t.Helper()
	if len(msgs) != n {
		t.Fatalf("%s: %d messages, want %d: %v", who, len(msgs), n, seqs(msgs))
	}
	for i, m := range msgs {
		if m.Seq != uint64(i+1) {
			t.Fatalf("%s: message %d has seq %d: %v", who, i, m.Seq, seqs(msgs))
		}
	}
}

// memberIDs are the ids of a page.
func memberIDs(page []hub.Member) []string {
	out := make([]string, len(page))
	for i, m := range page {
		out[i] = m.Client
	}
	sort.Strings(out)
	return out
}

// twoNodes starts a redis-server and two brokers on it.
func twoNodes(t *testing.T, tune func(*Options, *Redis)) (*redistest.Server, *node, *node) {
	t.Helper()
	s := redistest.Start(t)
	return s, newNode(t, s.URL(), "node-a", tune), newNode(t, s.URL(), "node-b", nil)
}
