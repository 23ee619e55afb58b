package broker

import (
	"errors"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/redis/go-redis/v9"
)

// Publish orders msg in room with one script: the key checked, the seq
// bumped, the message kept in the stream and published on the room's
// channel.
func (r *Redis) Publish(room string, msg hub.ClusterMessage, key string, requireMembers bool) (hub.Receipt, bool, bool, error) {
	k := keysOf(room)
	keyKey := k.meta // a key of the room's slot when the publish has none
	if key != "" {
		keyKey = k.key(key)
	}
	require := "0"
	if requireMembers {
		require = "1"
	}
	limits := r.limitsOf(room)
	ctx, cancel := r.op()
	defer cancel()
	res, err := publishScript.Run(ctx, r.client, []string{k.meta, k.hist, k.members, keyKey},
		key, require, newEpoch(), limits.Size, ms(limits.TTL), k.channel,
		msg.From, flags(msg), msg.Data, ms(hub.MinKeyTTL)).Slice()
	if err != nil {
		return hub.Receipt{}, false, false, r.fail("publish", err)
	}
	switch {
	case len(res) == 2 && str(res[0]) == "dup":
		rc, err := parseReceipt(str(res[1]))
		if err != nil {
			return rc, false, false, r.fail("publish", err)
		}
		return rc, true, true, nil
	case len(res) == 1 && str(res[0]) == "none":
		return hub.Receipt{}, false, false, nil
	case len(res) == 3 && str(res[0]) == "ok":
		return hub.Receipt{Seq: uint64(num(res[1])), Delivered: int(num(res[2]))}, false, true, nil
	}
	return hub.Receipt{}, false, false, r.fail("publish", errWire)
}

// limitsOf is what a publish numbers room with when Redis has no numbering
// for it (a room first numbered by a server publish, or Redis restarted
// empty): the limits of the room's local members if it has any here, else
// Options.History.
func (r *Redis) limitsOf(room string) hub.HistoryLimits {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rs := r.rooms[room]; rs != nil {
		return rs.limits
	}
	return r.opt.History
}

// Receipt answers a keyed publish with the receipt the room keeps for key.
func (r *Redis) Receipt(room, key string) (hub.Receipt, bool, error) {
	ctx, cancel := r.op()
	defer cancel()
	s, err := r.client.Get(ctx, keysOf(room).key(key)).Result()
	if errors.Is(err, redis.Nil) {
		return hub.Receipt{}, false, nil
	}
	if err != nil {
		return hub.Receipt{}, false, r.fail("publish", err)
	}
	rc, err := parseReceipt(s)
	if err != nil {
		return rc, false, r.fail("publish", err)
	}
	return rc, true, nil
}

// Since returns the room's kept messages after seq, up to upTo (0: the
// top), at most limit (0: all), from the stream; when the first one kept
// is not seq+1, complete is false and they are returned all the same.
func (r *Redis) Since(room string, seq, upTo uint64, limit int) ([]hub.ClusterMessage, hub.Position, bool, bool, error) {
	k := keysOf(room)
	ctx, cancel := r.op()
	defer cancel()
	var meta *redis.SliceCmd
	var members *redis.IntCmd
	var entries *redis.XMessageSliceCmd
	end := "+"
	if upTo > 0 {
		end = seqID(upTo)
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		meta = p.HMGet(ctx, k.meta, "e", "s")
		members = p.HLen(ctx, k.members)
		if limit > 0 {
			entries = p.XRangeN(ctx, k.hist, seqID(seq+1), end, int64(limit))
		} else {
			entries = p.XRange(ctx, k.hist, seqID(seq+1), end)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, hub.Position{}, false, false, r.fail("history", err)
	}
	pos := position(meta.Val())
	if pos.Epoch == "" && members.Val() == 0 {
		return nil, pos, false, false, nil
	}
	top := pos.Seq
	if upTo > 0 && upTo < top {
		top = upTo
	}
	if seq >= top {
		return nil, pos, true, true, nil
	}
	msgs, err := entriesToMessages(entries.Val())
	if err != nil {
		return nil, pos, false, true, r.fail("history", err)
	}
	if len(msgs) == 0 || msgs[0].Seq != seq+1 {
		return msgs, pos, false, true, nil // the kept ones: no resume, but a listing
	}
	return msgs, pos, true, true, nil
}
