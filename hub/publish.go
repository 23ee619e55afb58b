package hub

import (
	"encoding/json"
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
// not empty, makes a repeat of the publish a duplicate.
func (h *Hub) publishFrom(c *Client, name string, data []byte, binary bool, key string) (Published, error) {
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
	rc, dup, err := r.publish(&message{from: c, data: data, binary: binary}, key)
	return h.published(rc, dup), err
}

// published counts a publish and says what it did.
func (h *Hub) published(rc Receipt, duplicate bool) Published {
	if duplicate {
		h.obs.DuplicateSuppressed()
	} else {
		h.obs.Delivered(rc.Delivered)
	}
	return Published{Seq: rc.Seq, Delivered: rc.Delivered, Duplicate: duplicate}
}

// Publish sends data, a JSON value, to every member of the room called name
// as a message from the server (no "from"). It reports the message's seq and
// how many members it was queued for; ok is false when there is no such room.
func (h *Hub) Publish(name string, data json.RawMessage) (seq uint64, delivered int, ok bool) {
	p, ok, _ := h.PublishKeyed(name, data, "")
	return p.Seq, p.Delivered, ok
}

// PublishKeyed is Publish with an idempotency key: a publish whose key the
// room has seen is not delivered again and answers as the first one did,
// with Duplicate set, even once the room has no members. ok is false when
// there is no such room; err when the key is too long.
func (h *Hub) PublishKeyed(name string, data json.RawMessage, key string) (p Published, ok bool, err error) {
	if len(key) > MaxKey {
		return p, false, errKeyTooLong
	}
	for {
		r := h.room(name)
		if r == nil {
			return h.receiptOfGone(name, key)
		}
		rc, dup, err := r.publish(&message{data: data}, key)
		if err == nil {
			return h.published(rc, dup), true, nil
		}
		// the room died between the lookup and the lock: look again
	}
}

// receiptOfGone answers a keyed publish into a room without members from
// the room's kept log, when it has seen the key.
func (h *Hub) receiptOfGone(name, key string) (Published, bool, error) {
	if key == "" {
		return Published{}, false, nil
	}
	if l := h.store.Lookup(name); l != nil {
		if rc, seen := l.Receipt(key); seen {
			return h.published(rc, true), true, nil
		}
	}
	return Published{}, false, nil
}
