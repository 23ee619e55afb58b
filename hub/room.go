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
	seq     uint64 // with a cluster: the last seq delivered here
	epoch   string
	limits  HistoryLimits // what its first joiner's route asked it to keep
	log     Log           // the room's numbering and history, from the hub's store
	keeps   bool          // the log keeps messages: hand it each one's frame
	cl      Cluster       // the cluster the room is on; nil: the hub alone (log set)
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
	sender    *Client // the local member that sent it; nil for the server or another node's
	from      string  // the sender's connection id; "" for the server
	rawSender bool    // the sender speaks raw: data is its frame's payload
	data      []byte  // json: the JSON value; raw: the frame's payload
	binary    bool    // raw: the frame was binary
	ordered   bool    // the cluster ordered it: it is counted as delivered where it arrives
	seq       uint64
	json      *Frame
	raw       *Frame
	w         *inlineWrites // where idle members are gathered; nil: writer goroutines
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
		data := m.data
		if m.rawSender {
			data = dataAsJSON(data)
		}
		m.json = messageFrame(r, m.from, data, m.seq)
	}
	return m.json
}

// open opens the room's log, for a room that has just been made and that
// no one else can see yet.
func (r *Room) open(s Store, limits HistoryLimits) {
	r.log = s.Open(r.name, limits)
	pos := r.log.Position()
	r.epoch, r.seq, r.keeps = pos.Epoch, pos.Seq, limits.Size > 0
}

// publish gives m the room's next seq, queues it for every member (a raw
// sender does not get its own message back) and hands it to the room's
// log. A publish with a key the log has seen changes nothing and answers
// the first one's receipt, with duplicate set.
func (r *Room) publish(m *message, key string) (rc Receipt, duplicate bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead || (m.sender != nil && !r.hasLocked(m.sender)) {
		return rc, false, errNotMember
	}
	if r.cl != nil {
		return r.publishClusterLocked(m, key)
	}
	if key != "" {
		if rc, ok := r.log.Receipt(key); ok {
			return rc, true, nil
		}
	}
	r.seq++
	m.seq = r.seq
	rc.Delivered = r.fanOutLocked(m)
	e := Entry{Seq: m.seq}
	if r.keeps {
		e.Frame = m.frameFor(r, JSON)
	}
	r.log.Append(e)
	rc.Seq = m.seq
	if key != "" {
		r.log.Remember(key, rc)
	}
	return rc, false, nil
}

// fanOutLocked queues m for every member, each in its protocol's frame,
// made once per protocol; a raw sender does not get its own message back.
// It returns how many members it was queued for. The caller holds r.mu.
func (r *Room) fanOutLocked(m *message) (delivered int) {
	for _, mb := range r.members {
		if mb.c == m.sender && m.rawSender {
			continue
		}
		if mb.c.sendVia(m.frameFor(r, mb.c.cfg.Protocol), m.w) {
			delivered++
		}
	}
	return delivered
}

func (r *Room) hasLocked(c *Client) bool {
	_, ok := r.index[c]
	return ok
}

// add makes c a member, joined at, unless the room is full (errRoomFull).
// The caller holds r.mu.
func (r *Room) addLocked(c *Client, maxMembers int, at time.Time) error {
	if maxMembers > 0 && len(r.members) >= maxMembers {
		return errRoomFull
	}
	r.index[c] = len(r.members)
	r.members = append(r.members, member{c: c, joinedAt: at})
	return nil
}

// removeLocked takes c out of the room; ok is false when c was not a
// member. The caller holds r.mu.
func (r *Room) removeLocked(c *Client) (gone member, ok bool) {
	i, ok := r.index[c]
	if !ok {
		return gone, false
	}
	gone = r.members[i]
	last := len(r.members) - 1
	r.members[i] = r.members[last]
	r.index[r.members[i].c] = i
	r.members[last] = member{}
	r.members = r.members[:last]
	delete(r.index, c)
	return gone, true
}

// cluster is the member as a cluster records it.
func (m member) cluster() ClusterMember {
	return ClusterMember{Member: m.c.member(), RemoteAddr: m.c.RemoteAddr, JoinedAt: m.joinedAt}
}

// broadcastLocked queues f for every member but skip and every raw member.
func (r *Room) broadcastLocked(f *Frame, skip *Client) {
	for _, mb := range r.members {
		if mb.c != skip && mb.c.cfg.Protocol == JSON && !mb.c.cfg.NoPresence {
			mb.c.send(f)
		}
	}
}
