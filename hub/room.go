package hub

import (
	"sync"
	"time"
)

// Room is a named set of connections; every message published to it gets
// the next seq and goes to every member in that order.
type Room struct {
	name   string
	quoted []byte // name as a JSON string, encoded once

	mu      sync.Mutex
	seq     uint64
	members []member
	index   map[*Client]int // position in members
	dead    bool            // removed from the hub: look it up again
	diff    presenceDiff    // presence changes of a big room, batched
}

type member struct {
	c        *Client
	joinedAt time.Time
}

func newRoom(name string) *Room {
	return &Room{name: name, quoted: jsonString(nil, name), index: make(map[*Client]int)}
}

// message is one publish, framed lazily for each protocol.
type message struct {
	from   *Client // nil for the server
	data   []byte  // json: the JSON value; raw: the frame's payload
	binary bool    // raw: the frame was binary
	seq    uint64
	json   *Frame
	raw    *Frame
}

func (m *message) frameFor(r *Room, p Protocol) *Frame {
	if p == Raw {
		if m.raw == nil {
			op := byte(opText)
			if m.binary {
				op = opBinary
			}
			m.raw = newFrame(op, m.data)
		}
		return m.raw
	}
	if m.json == nil {
		from := ""
		if m.from != nil {
			from = m.from.ID
		}
		data := m.data
		if m.from != nil && m.from.cfg.Protocol == Raw {
			data = dataAsJSON(data)
		}
		m.json = messageFrame(r, from, data, m.seq)
	}
	return m.json
}

// publish gives m the room's next seq and queues it for every member: a
// raw sender does not get its own message back. It reports the seq and how
// many members it was queued for.
func (r *Room) publish(m *message) (seq uint64, delivered int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead || (m.from != nil && !r.hasLocked(m.from)) {
		return 0, 0, errNotMember
	}
	r.seq++
	m.seq = r.seq
	for _, mb := range r.members {
		if mb.c == m.from && mb.c.cfg.Protocol == Raw {
			continue
		}
		if mb.c.send(m.frameFor(r, mb.c.cfg.Protocol)) {
			delivered++
		}
	}
	return m.seq, delivered, nil
}

func (r *Room) hasLocked(c *Client) bool {
	_, ok := r.index[c]
	return ok
}

// add makes c a member; it returns the member count, or an error when the
// room is full. The caller holds r.mu.
func (r *Room) addLocked(c *Client, maxMembers int) (int, error) {
	if maxMembers > 0 && len(r.members) >= maxMembers {
		return 0, errRoomFull
	}
	r.index[c] = len(r.members)
	r.members = append(r.members, member{c: c, joinedAt: time.Now()})
	return len(r.members), nil
}

// removeLocked takes c out of the room; it reports whether c was a member.
func (r *Room) removeLocked(c *Client) bool {
	i, ok := r.index[c]
	if !ok {
		return false
	}
	last := len(r.members) - 1
	r.members[i] = r.members[last]
	r.index[r.members[i].c] = i
	r.members[last] = member{}
	r.members = r.members[:last]
	delete(r.index, c)
	return true
}

// broadcastLocked queues f for every member but skip and every raw member.
func (r *Room) broadcastLocked(f *Frame, skip *Client) {
	for _, mb := range r.members {
		if mb.c != skip && mb.c.cfg.Protocol == JSON && !mb.c.cfg.NoPresence {
			mb.c.send(f)
		}
	}
}
