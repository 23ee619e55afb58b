package hub

import (
	"encoding/json"
	"errors"
)

// MaxKey is the longest publish key accepted, in bytes.
const MaxKey = 256

var errKeyTooLong = newError(CodeInvalidKey, `"key" is longer than 256 bytes`)

// Published is what a publish did: the message's seq, how many members it
// was queued for, and whether it was a repeat of a keyed publish the room
// had seen (then nothing was delivered again: the first one's receipt).
type Published struct {
	Seq       uint64 `json:"seq"`
	Delivered int    `json:"delivered"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// publishFrom publishes data from c into the room called name; key, when
// not empty, makes a repeat of the publish a duplicate. Idle members are
// gathered in w, for the caller to write inline.
func (h *Hub) publishFrom(c *Client, name string, data []byte, binary bool, key string, w *inlineWrites) (Published, error) {
	if len(key) > MaxKey {
		return Published{}, errKeyTooLong
	}
	c.roomsMu.Lock()
	r := c.rooms[name]
	c.roomsMu.Unlock()
	if r == nil {
		return Published{}, errNotMember
	}
	if a := c.cfg.Authorizer; a != nil {
		if err := a.AllowPublish(c, name); err != nil {
			return Published{}, err
		}
	}
	m := message{sender: c, from: c.ID, rawSender: c.cfg.Protocol == Raw, data: data, binary: binary, w: w}
	rc, dup, err := r.publish(&m, key)
	return h.published(rc, dup, m.ordered), err
}

// published counts a publish and says what it did. A message a cluster
// ordered is counted as delivered where it arrives (Deliver), on each node.
func (h *Hub) published(rc Receipt, duplicate, ordered bool) Published {
	switch {
	case duplicate:
		h.obs.DuplicateSuppressed()
	case !ordered:
		h.obs.Delivered(rc.Delivered)
	}
	return Published{Seq: rc.Seq, Delivered: rc.Delivered, Duplicate: duplicate}
}

// Publish sends data, a JSON value, to every member of the room called name
// as a message from the server (no "from"): PublishKeyed without a key.
func (h *Hub) Publish(name string, data json.RawMessage) (p Published, ok bool, err error) {
	return h.PublishKeyed(name, data, "")
}

// PublishKeyed publishes data, a JSON value, to every member of the room
// called name as a message from the server (no "from"), and says its seq
// and how many members it was queued for (with a cluster: the room's
// members on every node). A publish whose key the room has seen is not
// delivered again and answers as the first one did, with Duplicate set,
// even once the room has no members. ok is false when there is no such
// room; err when the key is too long, or, with a cluster, when the broker
// could not order the message (errors.Is(err, ErrUnavailable)).
func (h *Hub) PublishKeyed(name string, data json.RawMessage, key string) (p Published, ok bool, err error) {
	if len(key) > MaxKey {
		return p, false, errKeyTooLong
	}
	for {
		r := h.room(name)
		if r == nil {
			return h.publishToAbsent(name, data, key)
		}
		m := message{data: data, w: getInlineWrites()}
		rc, dup, err := r.publish(&m, key)
		m.w.flush()
		switch err {
		case nil:
			return h.published(rc, dup, m.ordered), true, nil
		case errNoMembers:
			return p, false, nil
		case errNotMember:
			// the room died between the lookup and the lock: look again
		default:
			return p, false, err
		}
	}
}

// publishToAbsent answers a server publish into a room with no member in
// this hub: through the cluster, if any, else from the room's kept log,
// when it has seen the key.
func (h *Hub) publishToAbsent(name string, data json.RawMessage, key string) (Published, bool, error) {
	if cl := h.clusterNow(); cl != nil {
		return h.publishThrough(cl, name, data, key)
	}
	if key == "" {
		return Published{}, false, nil
	}
	if l := h.store.Lookup(name); l != nil {
		if rc, seen := l.Receipt(key); seen {
			return h.published(rc, true, false), true, nil
		}
	}
	return Published{}, false, nil
}

// publishThrough publishes into a room that may have members on other
// nodes only. It is not under a room's lock: there is none here.
func (h *Hub) publishThrough(cl Cluster, name string, data json.RawMessage, key string) (Published, bool, error) {
	if key != "" {
		rc, seen, err := cl.Receipt(name, key)
		if err != nil {
			return Published{}, false, brokerError(err)
		}
		if seen {
			return h.published(rc, true, true), true, nil
		}
	}
	rc, dup, found, err := cl.Publish(name, ClusterMessage{Data: data}, key, true)
	switch {
	case err != nil:
		return Published{}, false, brokerError(err)
	case !found:
		return Published{}, false, nil
	}
	return h.published(rc, dup, true), true, nil
}

// publishClusterLocked has the room's cluster order m, which the cluster
// then delivers to every node, this one included. The caller holds r.mu.
func (r *Room) publishClusterLocked(m *message, key string) (Receipt, bool, error) {
	m.ordered = true
	msg := ClusterMessage{From: m.from, Data: m.data, Raw: m.rawSender, Binary: m.binary}
	rc, dup, found, err := r.cl.Publish(r.name, msg, key, m.sender == nil)
	switch {
	case err != nil:
		return rc, false, brokerError(err)
	case !found:
		return rc, false, errNoMembers
	}
	return rc, dup, nil
}

// errNoMembers: a server publish into a room with no member on any node.
var errNoMembers = errors.New("the room has no members")
