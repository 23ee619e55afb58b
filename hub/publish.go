package hub

import (
	"encoding/json"
)

// publishFrom publishes data from c into the room called name.
func (h *Hub) publishFrom(c *Client, name string, data []byte, binary bool) (uint64, error) {
	c.roomsMu.Lock()
	r := c.rooms[name]
	c.roomsMu.Unlock()
	if r == nil {
		return 0, errNotMember
	}
	if a := c.cfg.Authorizer; a != nil {
		if err := a.AllowPublish(c, name); err != nil {
			return 0, err
		}
	}
	seq, n, err := r.publish(&message{from: c, data: data, binary: binary})
	h.obs.Delivered(n)
	return seq, err
}

// Publish sends data, a JSON value, to every member of the room called name
// as a message from the server (no "from"). It reports the message's seq and
// how many members it was queued for; ok is false when there is no such room.
func (h *Hub) Publish(name string, data json.RawMessage) (seq uint64, delivered int, ok bool) {
	for {
		r := h.room(name)
		if r == nil {
			return 0, 0, false
		}
		seq, n, err := r.publish(&message{data: data})
		if err == nil {
			h.obs.Delivered(n)
			return seq, n, true
		}
		// the room died between the lookup and the lock: look again
	}
}
