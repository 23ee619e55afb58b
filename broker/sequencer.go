package broker

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// roomSeq is a room with local members: its subscription's position, and
// the lock under which every call to the sink for the room is made.
type roomSeq struct {
	room   string
	keys   roomKeys
	limits hub.HistoryLimits

	gone atomic.Bool // the room has no local members any more

	// sinkMu is held around every call to the sink for the room, so that
	// the hub hears of one room from one goroutine at a time. It is never
	// taken by Join (which runs under the hub's room lock, while the sink's
	// methods wait for that lock): only mu is.
	sinkMu sync.Mutex

	mu      sync.Mutex           // guards the fields below; never held around a sink call
	ready   bool                 // the position is known (Join returned)
	epoch   string               // the position: epoch and last seq delivered
	last    uint64               // written under both locks once ready
	pending []hub.ClusterMessage // arrived before the position was known
}

// setPosition gives rs the position its Join returned and hands on, in a
// goroutine of its own (Join runs under the hub's room lock), what arrived
// before.
func (r *Redis) setPosition(rs *roomSeq, pos hub.Position) {
	rs.mu.Lock()
	rs.epoch, rs.last, rs.ready = pos.Epoch, pos.Seq, true
	pending := len(rs.pending) > 0
	rs.mu.Unlock()
	if !pending {
		return
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		rs.sinkMu.Lock()
		defer rs.sinkMu.Unlock()
		r.flushPending(rs)
	}()
}

// flushPending sequences what arrived before rs's position was known, if
// it is known now; it reports whether it is. It runs under rs.sinkMu.
func (r *Redis) flushPending(rs *roomSeq) bool {
	rs.mu.Lock()
	ready, pending := rs.ready, rs.pending
	if ready {
		rs.pending = nil
	}
	rs.mu.Unlock()
	if ready {
		for _, m := range pending {
			r.sequence(rs, m)
		}
	}
	return ready
}

// deliver hands on a message of rs's channel in seq order.
func (r *Redis) deliver(rs *roomSeq, m hub.ClusterMessage, at time.Time) {
	r.obs.Lag(time.Since(at))
	if r.drop != nil && r.drop(rs.room, m.Seq) {
		return
	}
	rs.sinkMu.Lock()
	defer rs.sinkMu.Unlock()
	if rs.gone.Load() {
		return
	}
	if !r.flushPending(rs) {
		rs.mu.Lock()
		if rs.ready { // became ready meanwhile: its goroutine flushes both
			rs.mu.Unlock()
			r.flushPending(rs)
			r.sequence(rs, m)
			return
		}
		rs.pending = append(rs.pending, m)
		rs.mu.Unlock()
		return
	}
	r.sequence(rs, m)
}

// advance moves rs to epoch and seq (under both locks: readers hold one).
func (rs *roomSeq) advance(epoch string, seq uint64) {
	rs.mu.Lock()
	rs.epoch, rs.last = epoch, seq
	rs.mu.Unlock()
}

// sequence delivers m if it is the next of rs, after the missing ones
// (from the stream) if it is further on; it drops what was delivered. It
// runs under rs.sinkMu.
func (r *Redis) sequence(rs *roomSeq, m hub.ClusterMessage) {
	if rs.gone.Load() || m.Seq <= rs.last {
		return
	}
	if m.Seq > rs.last+1 && !r.repair(rs, m.Seq-1) {
		return
	}
	r.sink.Deliver(rs.room, m)
	rs.advance(rs.epoch, m.Seq)
}

// repair delivers the messages after rs.last up to upTo from the stream;
// when the stream no longer has them all, the room resyncs. It returns
// whether rs is now at upTo. It runs under rs.sinkMu.
func (r *Redis) repair(rs *roomSeq, upTo uint64) bool {
	ctx, cancel := r.op()
	defer cancel()
	want := upTo - rs.last
	entries, err := r.client.XRangeN(ctx, rs.keys.hist, seqID(rs.last+1), seqID(upTo), int64(want)).Result()
	if err != nil {
		_ = r.fail("repair", err) // the next message or the next check tries again
		return false
	}
	msgs, err := entriesToMessages(entries)
	if err != nil || uint64(len(msgs)) != want || msgs[0].Seq != rs.last+1 {
		r.resync(rs, rs.epoch, upTo)
		return true
	}
	for _, m := range msgs {
		r.sink.Deliver(rs.room, m)
	}
	rs.advance(rs.epoch, upTo)
	r.obs.GapRepaired(len(msgs))
	return true
}

// resync tells the hub that rs's local members missed messages that
// cannot be handed again, and moves rs to the position given. It runs
// under rs.sinkMu.
func (r *Redis) resync(rs *roomSeq, epoch string, seq uint64) {
	r.log.Warn("room resynced: its messages could not all be delivered", zap.String("room", rs.room),
		zap.Uint64("from_seq", rs.last), zap.Uint64("to_seq", seq))
	rs.advance(epoch, seq)
	r.obs.Resynced()
	r.sink.Resync(rs.room)
}

// queueCheck asks the check loop to compare rs with the room's position
// in Redis.
func (r *Redis) queueCheck(rs *roomSeq) {
	r.checkMu.Lock()
	r.toCheck[rs] = struct{}{}
	r.checkMu.Unlock()
	select {
	case r.checkNow <- struct{}{}:
	default:
	}
}

// checkLoop compares the rooms queued with their positions in Redis, in
// pipelined batches (after a reconnection every room is queued at once).
func (r *Redis) checkLoop() {
	defer r.wg.Done()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-r.checkNow:
		}
		r.checkMu.Lock()
		batch := make([]*roomSeq, 0, len(r.toCheck))
		for rs := range r.toCheck {
			batch = append(batch, rs)
		}
		clear(r.toCheck)
		r.checkMu.Unlock()
		for len(batch) > 0 {
			n := min(len(batch), 500)
			r.check(batch[:n])
			batch = batch[n:]
		}
	}
}

// check compares rooms with their positions in Redis: it repairs what the
// subscription missed, and resyncs a room whose numbering started over.
func (r *Redis) check(rooms []*roomSeq) {
	ctx, cancel := r.op()
	defer cancel()
	cmds := make([]*redis.SliceCmd, len(rooms))
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, rs := range rooms {
			cmds[i] = p.HMGet(ctx, rs.keys.meta, "e", "s")
		}
		return nil
	})
	if err != nil {
		_ = r.fail("repair", err) // the next resubscription checks again
		return
	}
	for i, rs := range rooms {
		pos := position(cmds[i].Val())
		rs.sinkMu.Lock()
		rs.mu.Lock()
		ready := rs.ready
		rs.mu.Unlock()
		switch {
		case rs.gone.Load() || !ready || pos.Epoch == "":
			// no numbering: Redis lost the room, and the recovery that
			// records this node's members again checks it then
		case pos.Epoch != rs.epoch:
			r.resync(rs, pos.Epoch, pos.Seq)
		case pos.Seq > rs.last:
			r.repair(rs, pos.Seq)
		}
		rs.sinkMu.Unlock()
	}
}

// seqID is the stream entry id of seq.
func seqID(seq uint64) string { return strconv.FormatUint(seq, 10) + "-0" }

// str is v as a string ("" for nil).
func str(v any) string {
	s, _ := v.(string)
	return s
}

// entriesToMessages reads stream entries.
func entriesToMessages(entries []redis.XMessage) ([]hub.ClusterMessage, error) {
	msgs := make([]hub.ClusterMessage, 0, len(entries))
	for _, e := range entries {
		id, _, _ := strings.Cut(e.ID, "-")
		seq, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			return nil, errWire
		}
		m := hub.ClusterMessage{Seq: seq, From: str(e.Values["f"]), Data: []byte(str(e.Values["d"]))}
		setFlags(&m, str(e.Values["t"]))
		msgs = append(msgs, m)
	}
	return msgs, nil
}
