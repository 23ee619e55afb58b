package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// A phase is one measured step: a known number of operations of one kind.
type phase struct {
	Name       string             `json:"name"`
	Ops        int                `json:"ops"`
	Heartbeats int64              `json:"heartbeats"` // heartbeats that fell into it (ZCOUNT calls)
	Calls      map[string]float64 `json:"calls_per_op"`
	Commands   float64            `json:"commands_per_op"`
	RoundTrips float64            `json:"round_trips_per_op"`
	BytesIn    float64            `json:"bytes_to_redis_per_op"`
	BytesOut   float64            `json:"bytes_from_redis_per_op"`
	CPUMicros  float64            `json:"redis_cpu_us_per_op"`
	// Idle marks a phase of heartbeats: its CPU is mostly Redis's own
	// timers over the phase, not the operations'.
	Idle bool `json:"idle"`
}

// A run is the state of one measurement: the Redis to watch and the
// connections that act.
type run struct {
	ctx     context.Context
	rdbSnap func() (snapshot, error)
	n       int
	rooms   []string
	timeout time.Duration
	settle  time.Duration
	a1, a2  *wsClient // on node A
	b1      *wsClient // on node B
	phases  []phase
	payload string
}

// measure takes a snapshot, runs act (which returns how many operations it
// made; 0 counts the heartbeats instead), lets Redis settle and takes
// another; the difference per operation becomes a phase.
func (r *run) measure(name string, act func() (int, error)) error {
	before, err := r.rdbSnap()
	if err != nil {
		return err
	}
	ops, err := act()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	idle := ops == 0
	time.Sleep(r.settle)
	after, err := r.rdbSnap()
	if err != nil {
		return err
	}
	d := since(before, after)
	if ops == 0 {
		ops = int(d.calls["zcount"])
	}
	if ops == 0 {
		return fmt.Errorf("%s: no operation seen", name)
	}
	p := phase{Name: name, Ops: ops, Heartbeats: d.calls["zcount"], Calls: map[string]float64{}, Idle: idle}
	f := float64(ops)
	for cmd, n := range d.calls {
		p.Calls[cmd] = float64(n) / f
	}
	p.Commands = float64(d.commands) / f
	p.RoundTrips = float64(d.roundTrips) / f
	p.BytesIn = float64(d.bytesIn) / f
	p.BytesOut = float64(d.bytesOut) / f
	p.CPUMicros = d.cpu * 1e6 / f
	r.phases = append(r.phases, p)
	return nil
}

// each sends one frame of type typ from c for every room, then waits for
// c's answers of type answer (counted from what c had before).
func (r *run) each(c *wsClient, typ, answer string) (int, error) {
	base := c.count(answer)
	for _, room := range r.rooms {
		if err := c.send(typ, room, nil); err != nil {
			return 0, err
		}
	}
	return len(r.rooms), c.waitFor(answer, base+len(r.rooms), r.timeout)
}

// publish sends n messages from a1 into the first room and waits for its
// acks and for every member in watch to receive them all.
func (r *run) publish(watch ...*wsClient) (int, error) {
	room := r.rooms[0]
	acks := r.a1.count("ack")
	got := make([]int, len(watch))
	for i, c := range watch {
		got[i] = c.count("message")
	}
	for i := 0; i < r.n; i++ {
		if err := r.a1.send("publish", room, r.payload); err != nil {
			return 0, err
		}
	}
	if err := r.a1.waitFor("ack", acks+r.n, r.timeout); err != nil {
		return 0, err
	}
	for i, c := range watch {
		if err := c.waitFor("message", got[i]+r.n, r.timeout); err != nil {
			return 0, err
		}
	}
	return r.n, nil
}

// idle waits for d: only heartbeats and sweeps happen, counted by ZCOUNT.
func (r *run) idle(d time.Duration) func() (int, error) {
	return func() (int, error) {
		select {
		case <-time.After(d):
			return 0, nil
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

// steps runs every phase in order.
func (r *run) steps(idleFor time.Duration) error {
	perNode := fmt.Sprintf("%d rooms per node", len(r.rooms)+1)
	steps := []struct {
		name string
		act  func() (int, error)
	}{
		{"join: first member of the room on its node (subscribes)", func() (int, error) { return r.each(r.a1, "join", "joined") }},
		{"join: the room has members on this node", func() (int, error) { return r.each(r.a2, "join", "joined") }},
		{"publish: 1 node subscribed, 2 members", func() (int, error) { return r.publish(r.a1, r.a2) }},
		{"join: first on its node, room on another node", func() (int, error) { return r.each(r.b1, "join", "joined") }},
		{"publish: 2 nodes subscribed, 3 members", func() (int, error) { return r.publish(r.a1, r.a2, r.b1) }},
		{"heartbeat (and sweep): " + perNode, r.idle(idleFor)},
		{"leave: others of the room stay on this node", func() (int, error) { return r.each(r.a2, "leave", "left") }},
		{"leave: last on its node, room on another node (unsubscribes)", func() (int, error) { return r.each(r.a1, "leave", "left") }},
		{"leave: last member of the room in the cluster", func() (int, error) { return r.each(r.b1, "leave", "left") }},
		{"heartbeat (and sweep): 1 room per node", r.idle(idleFor)},
	}
	for _, s := range steps {
		if err := r.measure(s.name, s.act); err != nil {
			return err
		}
	}
	return nil
}

// breakdown lists a phase's calls per operation, largest first.
func breakdown(calls map[string]float64) string {
	type kv struct {
		cmd string
		n   float64
	}
	var list []kv
	for c, n := range calls {
		if n >= 0.005 {
			list = append(list, kv{c, n})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].cmd < list[j].cmd
	})
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = fmt.Sprintf("%s %s", strings.ToUpper(e.cmd), trim(e.n))
	}
	return strings.Join(parts, ", ")
}

// trim formats n with at most two decimals and no trailing zeros.
func trim(n float64) string {
	s := strings.TrimRight(fmt.Sprintf("%.2f", n), "0")
	return strings.TrimSuffix(s, ".")
}
