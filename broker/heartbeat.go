package broker

import (
	"context"
	"strconv"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// heartbeatLoop beats every HeartbeatInterval (sooner, with backoff, while
// Redis is down) and sweeps dead nodes after each beat.
func (r *Redis) heartbeatLoop() {
	defer r.wg.Done()
	failures := 0
	for r.ctx.Err() == nil {
		wait := r.opt.HeartbeatInterval
		if err := r.beat(); err != nil {
			failures++
			wait = min(backoff(failures), wait)
		} else {
			failures = 0
			r.sweep()
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.ctx.Done():
		}
		t.Stop()
	}
}

// beat says this node is alive and lists its rooms again, in one pipeline;
// a node Redis had forgotten (swept, or Redis restarted) records its
// members again.
func (r *Redis) beat() error {
	r.mu.Lock()
	rooms := make([]any, 0, len(r.rooms))
	for room := range r.rooms {
		rooms = append(rooms, room)
	}
	r.mu.Unlock()
	ctx, cancel := r.op()
	defer cancel()
	now := time.Now()
	var added, live *redis.IntCmd
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		added = p.ZAdd(ctx, nodesKey, redis.Z{Score: float64(now.UnixMilli()), Member: r.node})
		live = p.ZCount(ctx, nodesKey, strconv.FormatInt(now.Add(-r.opt.NodeTimeout).UnixMilli(), 10), "+inf")
		for _, room := range rooms {
			p.ZAdd(ctx, roomsKey, redis.Z{Member: room})
		}
		if len(rooms) > 0 {
			p.SAdd(ctx, nodeRoomsKey(r.node), rooms...)
		}
		return nil
	})
	if err != nil {
		return r.fail("heartbeat", err)
	}
	r.liveNodes.Store(live.Val())
	again := r.ok()
	if again || added.Val() == 1 {
		if r.beats.Load() > 0 {
			// after an outage, or Redis forgot this node (swept, or
			// restarted): its members may be gone
			r.recover()
		}
	}
	r.beats.Add(1)
	return nil
}

// sweep removes the members of nodes silent for NodeTimeout. A node is
// claimed by the sweeper that takes it out of the list of nodes.
func (r *Redis) sweep() {
	ctx, cancel := r.op()
	defer cancel()
	dead, err := r.client.ZRangeByScore(ctx, nodesKey, &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatInt(time.Now().Add(-r.opt.NodeTimeout).UnixMilli(), 10)}).Result()
	if err != nil {
		_ = r.fail("sweep", err)
		return
	}
	for _, node := range dead {
		if node == r.node {
			continue
		}
		claimed, err := r.client.ZRem(ctx, nodesKey, node).Result()
		if err != nil {
			_ = r.fail("sweep", err)
			return
		}
		if claimed == 1 {
			r.sweepNode(node)
		}
	}
}

// sweepNode makes the members of the dead node leave every room; on
// failure the node is listed again, as dead, for the next sweep.
func (r *Redis) sweepNode(node string) {
	ctx, cancel := context.WithTimeout(r.ctx, 4*opTimeout)
	defer cancel()
	rooms, err := r.client.SMembers(ctx, nodeRoomsKey(node)).Result()
	if err == nil {
		for _, room := range rooms {
			if err = r.prune(ctx, room, node, nil); err != nil {
				break
			}
		}
	}
	if err == nil {
		err = r.client.Del(ctx, nodeRoomsKey(node)).Err()
	}
	if err != nil {
		_ = r.fail("sweep", err)
		if err := r.client.ZAdd(ctx, nodesKey, redis.Z{Score: 0, Member: node}).Err(); err != nil {
			_ = r.fail("sweep", err)
		}
		return
	}
	r.log.Info("swept a dead node's members", zap.String("dead_node", node), zap.Int("rooms", len(rooms)))
}

// prune removes node's members of room but those kept, with presence leave
// events, and takes the room out of the list when that empties it.
func (r *Redis) prune(ctx context.Context, room, node string, keep []string) error {
	k := keysOf(room)
	args := []any{k.channel, node, ms(hub.MinKeyTTL)}
	for _, id := range keep {
		args = append(args, id)
	}
	n, err := sweepScript.Run(ctx, r.client, []string{k.meta, k.members, k.ids, k.users, k.node(node)}, args...).Int64()
	if err != nil {
		return err
	}
	if n == 0 {
		return r.client.ZRem(ctx, roomsKey, room).Err()
	}
	return nil
}
