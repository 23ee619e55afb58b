package broker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/redis/go-redis/v9"
)

// Join records m in room for the whole cluster. For the room's first local
// member it subscribes to the room first, so that nothing published after
// the position returned is missed.
func (r *Redis) Join(room string, m hub.ClusterMember, limits hub.HistoryLimits, first bool) (hub.Position, hub.Counts, error) {
	var rs *roomSeq
	if first {
		rs = &roomSeq{room: room, keys: keysOf(room), limits: limits}
		if err := r.subscribe(rs); err != nil {
			r.unsubscribe(rs)
			return hub.Position{}, hub.Counts{}, r.fail("join", err)
		}
	}
	pos, c, err := r.record(room, m, limits)
	if err != nil {
		if first {
			r.unsubscribe(rs)
		}
		return pos, c, r.fail("join", err)
	}
	if first {
		r.setPosition(rs, pos)
		ctx, cancel := r.op()
		defer cancel()
		_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.ZAdd(ctx, roomsKey, redis.Z{Member: room})
			p.SAdd(ctx, nodeRoomsKey(r.node), room)
			return nil
		})
		if err != nil {
			_ = r.fail("join", err) // the next heartbeat lists the room
		}
	}
	return pos, c, nil
}

// record runs the join script for m.
func (r *Redis) record(room string, m hub.ClusterMember, limits hub.HistoryLimits) (hub.Position, hub.Counts, error) {
	k := keysOf(room)
	ctx, cancel := r.op()
	defer cancel()
	res, err := joinScript.Run(ctx, r.client,
		[]string{k.meta, k.hist, k.members, k.ids, k.users, k.node(r.node)},
		m.Client, record(r.node, m), m.User, newEpoch(), limits.Size, ms(limits.TTL), k.channel, r.node).Slice()
	if err != nil {
		return hub.Position{}, hub.Counts{}, err
	}
	if len(res) != 4 {
		return hub.Position{}, hub.Counts{}, errWire
	}
	pos := hub.Position{Epoch: str(res[0]), Seq: uint64(num(res[1]))}
	return pos, hub.Counts{Members: int(num(res[2])), Users: int(num(res[3]))}, nil
}

// Leave forgets m in room; for the last local member it ends the room's
// subscription. A failure is counted and logged: the member's record is
// removed when this node records its members again after the outage.
func (r *Redis) Leave(room string, m hub.ClusterMember, last bool) hub.Counts {
	k := keysOf(room)
	if last {
		r.mu.Lock()
		rs := r.rooms[room]
		r.mu.Unlock()
		if rs != nil {
			r.unsubscribe(rs)
		}
	}
	ctx, cancel := r.op()
	defer cancel()
	res, err := leaveScript.Run(ctx, r.client, []string{k.meta, k.members, k.ids, k.users, k.node(r.node)},
		m.Client, m.User, k.channel, r.node, ms(hub.MinKeyTTL)).Slice()
	if err != nil || len(res) != 2 {
		_ = r.fail("leave", fmt.Errorf("%v (%d results)", err, len(res)))
		return hub.Counts{}
	}
	c := hub.Counts{Members: int(num(res[0])), Users: int(num(res[1]))}
	if last || c.Members == 0 {
		r.forget(ctx, room, last, c.Members == 0)
	}
	return c
}

// forget takes room out of this node's rooms (last) and out of the
// cluster's list (empty).
func (r *Redis) forget(ctx context.Context, room string, last, empty bool) {
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		if last {
			p.SRem(ctx, nodeRoomsKey(r.node), room)
		}
		if empty {
			p.ZRem(ctx, roomsKey, room)
		}
		return nil
	})
	if err != nil {
		_ = r.fail("leave", err) // the heartbeat and the listing heal it
	}
}

// Page lists at most limit members of room after the id after.
func (r *Redis) Page(room, after string, limit int) ([]hub.Member, hub.Counts, bool, error) {
	k := keysOf(room)
	ctx, cancel := r.op()
	defer cancel()
	min := "-"
	if after != "" {
		min = "(" + after
	}
	count := int64(-1)
	if limit > 0 {
		count = int64(limit) + 1
	}
	var ids *redis.StringSliceCmd
	cmds, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		ids = p.ZRangeByLex(ctx, k.ids, &redis.ZRangeBy{Min: min, Max: "+", Count: count})
		countsCmds(ctx, p, k)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, hub.Counts{}, false, r.fail("presence", err)
	}
	c := countsOf(cmds[1:])
	list := ids.Val()
	more := limit > 0 && len(list) > limit
	if more {
		list = list[:limit]
	}
	page, err := r.members(ctx, k, list)
	return page, c, more, err
}

// members are the members called ids, in that order.
func (r *Redis) members(ctx context.Context, k roomKeys, ids []string) ([]hub.Member, error) {
	page := make([]hub.Member, 0, len(ids))
	if len(ids) == 0 {
		return page, nil
	}
	recs, err := r.client.HMGet(ctx, k.members, ids...).Result()
	if err != nil {
		return nil, r.fail("presence", err)
	}
	for i, rec := range recs {
		if c, err := parseRecord(ids[i], str(rec)); err == nil {
			page = append(page, hub.Member{Client: c.ID, User: c.User})
		}
	}
	return page, nil
}

// countsCmds queues the reads of a room's counts: members, users, members
// without a user.
func countsCmds(ctx context.Context, p redis.Pipeliner, k roomKeys) {
	p.HLen(ctx, k.members)
	p.HLen(ctx, k.users)
	p.HGet(ctx, k.meta, "a")
}

// countsOf reads what countsCmds queued.
func countsOf(cmds []redis.Cmder) hub.Counts {
	members := cmds[0].(*redis.IntCmd).Val()
	users := cmds[1].(*redis.IntCmd).Val()
	anon, _ := strconv.ParseInt(cmds[2].(*redis.StringCmd).Val(), 10, 64)
	return hub.Counts{Members: int(members), Users: int(users + anon)}
}

// Clients lists the members of room on every node.
func (r *Redis) Clients(room string) ([]hub.ClusterClient, hub.Counts, hub.Position, bool, error) {
	k := keysOf(room)
	ctx, cancel := r.op()
	defer cancel()
	var all *redis.MapStringStringCmd
	var pos *redis.SliceCmd
	cmds, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, k.members)
		pos = p.HMGet(ctx, k.meta, "e", "s")
		countsCmds(ctx, p, k)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, hub.Counts{}, hub.Position{}, false, r.fail("admin", err)
	}
	clients := make([]hub.ClusterClient, 0, len(all.Val()))
	for id, rec := range all.Val() {
		if c, err := parseRecord(id, rec); err == nil {
			clients = append(clients, c)
		}
	}
	sort.Slice(clients, func(i, j int) bool { return clients[i].ID < clients[j].ID })
	p := position(pos.Val())
	return clients, countsOf(cmds[2:]), p, len(clients) > 0, nil
}

// position reads an HMGET of a meta key's e and s.
func position(v []any) hub.Position {
	if len(v) != 2 {
		return hub.Position{}
	}
	seq, _ := strconv.ParseUint(str(v[1]), 10, 64)
	return hub.Position{Epoch: str(v[0]), Seq: seq}
}

// num is a script's integer result.
func num(v any) int64 {
	n, _ := v.(int64)
	return n
}
