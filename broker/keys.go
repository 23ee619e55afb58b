package broker

import (
	"encoding/hex"
	"strings"
)

// prefix starts every key and channel of the broker.
const prefix = "rooms:"

// Keys shared by every room and node.
const (
	nodesKey = prefix + "nodes" // zset: node -> last heartbeat, ms
	roomsKey = prefix + "list"  // lex zset: names of rooms with members
)

// tag is the hash tag of a room's keys: its name, or the name in hex when
// the name could not be a hash tag (empty, or holding a brace) or could be
// mistaken for such a hex one.
func tag(room string) string {
	if room == "" || strings.ContainsAny(room, "{}") || strings.HasPrefix(room, "~") {
		return "~" + hex.EncodeToString([]byte(room))
	}
	return room
}

// roomKeys are the keys and the channel of one room.
type roomKeys struct {
	base    string // rooms:{tag}:
	meta    string // hash: e (epoch), s (top seq), size, ttl (ms), a (members without user)
	hist    string // stream: one entry per kept seq, id <seq>-0
	members string // hash: member id -> record
	ids     string // lex zset: member ids
	users   string // hash: user -> connections
	channel string // the room's pub/sub channel
}

// keysOf returns the keys of room.
func keysOf(room string) roomKeys {
	b := prefix + "{" + tag(room) + "}:"
	return roomKeys{base: b, meta: b + "meta", hist: b + "h", members: b + "m", ids: b + "z", users: b + "u", channel: b + "c"}
}

// key is the key that remembers a publish key of the room.
func (k roomKeys) key(publishKey string) string { return k.base + "k:" + publishKey }

// node is the set of the room's members on node.
func (k roomKeys) node(node string) string { return k.base + "n:" + node }

// nodeRoomsKey is the set of rooms where node has members.
func nodeRoomsKey(node string) string { return prefix + "node:" + node + ":rooms" }

// nodeChannel is the channel where node hears the kicks meant for it.
func nodeChannel(node string) string { return prefix + "node:" + node + ":ctl" }
