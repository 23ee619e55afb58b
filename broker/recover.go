package broker

import (
	"context"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// recover records this node's members again (Redis may have restarted
// empty, or swept this node), removes those that left while Redis was
// unreachable, and checks every room's position: a room numbered anew
// resyncs.
func (r *Redis) recover() {
	r.recovering.Lock()
	defer r.recovering.Unlock()
	local := r.sink.LocalMembers()
	ctx, cancel := r.op()
	listed, err := r.client.SMembers(ctx, nodeRoomsKey(r.node)).Result()
	cancel()
	if err != nil {
		_ = r.fail("join", err)
		return
	}
	for room, members := range local {
		if err := r.rerecord(room, members); err != nil {
			_ = r.fail("join", err)
			return
		}
	}
	for _, room := range listed {
		if err := r.pruneLocal(room, local[room]); err != nil {
			_ = r.fail("leave", err)
			return
		}
	}
	r.mu.Lock()
	for _, rs := range r.rooms {
		r.queueCheck(rs)
	}
	r.mu.Unlock()
	r.log.Info("recorded this node's members again", zap.Int("rooms", len(local)))
}

// rerecord records again the local members of room, in pipelined
// batches, and the room in the node's and the cluster's lists.
func (r *Redis) rerecord(room string, members []hub.ClusterMember) error {
	limits := r.opt.History
	r.mu.Lock()
	if rs := r.rooms[room]; rs != nil {
		limits = rs.limits
	}
	r.mu.Unlock()
	k := keysOf(room)
	keys := []string{k.meta, k.hist, k.members, k.ids, k.users, k.node(r.node)}
	ctx, cancel := context.WithTimeout(r.ctx, 4*opTimeout)
	defer cancel()
	if err := joinScript.Load(ctx, r.client).Err(); err != nil {
		return err
	}
	for len(members) > 0 {
		batch := members[:min(len(members), 500)]
		members = members[len(batch):]
		_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, m := range batch {
				joinScript.EvalSha(ctx, p, keys, m.Client, record(r.node, m), m.User, newEpoch(),
					limits.Size, ms(limits.TTL), k.channel, r.node)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, roomsKey, redis.Z{Member: room})
		p.SAdd(ctx, nodeRoomsKey(r.node), room)
		return nil
	})
	return err
}

// pruneLocal removes this node's records of room but those of members,
// and forgets the room for this node when none is left.
func (r *Redis) pruneLocal(room string, members []hub.ClusterMember) error {
	keep := make([]string, len(members))
	for i, m := range members {
		keep[i] = m.Client
	}
	ctx, cancel := r.op()
	defer cancel()
	if err := r.prune(ctx, room, r.node, keep); err != nil {
		return err
	}
	if len(members) == 0 {
		return r.client.SRem(ctx, nodeRoomsKey(r.node), room).Err()
	}
	return nil
}
