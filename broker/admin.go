package broker

import (
	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/redis/go-redis/v9"
)

// Rooms lists the cluster's rooms with members from the list every join
// and heartbeat keeps; a listed room found empty is taken out of it.
func (r *Redis) Rooms(prefix, after string, limit int) ([]hub.RoomSummary, error) {
	ctx, cancel := r.op()
	defer cancel()
	min, max := "["+prefix, "+"
	if after != "" && after >= prefix {
		min = "(" + after
	}
	if prefix != "" {
		max = "[" + prefix + "\xff"
	}
	out := []hub.RoomSummary{}
	for {
		batch := int64(100)
		names, err := r.client.ZRangeByLex(ctx, roomsKey, &redis.ZRangeBy{Min: min, Max: max, Count: batch}).Result()
		if err != nil {
			return nil, r.fail("admin", err)
		}
		counts := make([]*redis.IntCmd, len(names))
		_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, name := range names {
				counts[i] = p.HLen(ctx, keysOf(name).members)
			}
			return nil
		})
		if err != nil {
			return nil, r.fail("admin", err)
		}
		for i, name := range names {
			if n := counts[i].Val(); n > 0 {
				out = append(out, hub.RoomSummary{Name: name, Members: int(n)})
			} else if err := r.client.ZRem(ctx, roomsKey, name).Err(); err != nil {
				return nil, r.fail("admin", err)
			}
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		if int64(len(names)) < batch {
			return out, nil
		}
		min = "(" + names[len(names)-1]
	}
}

// Kick disconnects client of room on its node: this one directly, another
// one through its channel.
func (r *Redis) Kick(room, client string, code int) (bool, error) {
	ctx, cancel := r.op()
	defer cancel()
	rec, err := r.client.HGet(ctx, keysOf(room).members, client).Result()
	if err == redis.Nil {
		return false, nil
	}
	if err != nil {
		return false, r.fail("admin", err)
	}
	c, err := parseRecord(client, rec)
	if err != nil {
		return false, r.fail("admin", err)
	}
	if c.Node == r.node {
		return r.kickLocal(room, client, code), nil
	}
	n, err := r.client.Publish(ctx, nodeChannel(c.Node), kick(room, client, code)).Result()
	if err != nil {
		return false, r.fail("admin", err)
	}
	return n > 0, nil
}

// Empty makes every member of room leave it, on every node, through the
// room's channel.
func (r *Redis) Empty(room string) (bool, error) {
	ctx, cancel := r.op()
	defer cancel()
	k := keysOf(room)
	n, err := r.client.HLen(ctx, k.members).Result()
	if err != nil {
		return false, r.fail("admin", err)
	}
	if n == 0 {
		return false, nil
	}
	if err := r.client.Publish(ctx, k.channel, "e").Err(); err != nil {
		return false, r.fail("admin", err)
	}
	return true, nil
}
