package hub

import "go.uber.org/zap"

// What a cluster calls on its hub (ClusterSink): its rooms' traffic from
// every node, and the broker's requests. Emptied and KickLocal are with
// Empty and Kick (kick.go).

// Deliver fans a message the cluster ordered out to the room's members of
// this hub, as a local publish does: each protocol's frame made once, the
// same for every member, a raw sender skipped. A seq the room has had
// already (a room joined again on a cluster that delivers it twice) is
// dropped.
func (h *Hub) Deliver(room string, msg ClusterMessage) {
	m := message{from: msg.From, rawSender: msg.Raw, data: msg.Data, binary: msg.Binary, seq: msg.Seq}
	if msg.Raw && msg.From != "" {
		m.sender = h.Client(msg.From) // a raw sender of this hub gets nothing back
	}
	for {
		r := h.room(room)
		if r == nil {
			return
		}
		r.mu.Lock()
		if r.dead {
			r.mu.Unlock()
			continue // replaced meanwhile: look again
		}
		delivered := 0
		if r.cl != nil && len(r.members) > 0 && msg.Seq > r.seq {
			r.seq = msg.Seq
			m.w = getInlineWrites()
			delivered = r.fanOutLocked(&m)
		}
		r.mu.Unlock()
		if m.w != nil {
			m.w.flush()
		}
		h.obs.Delivered(delivered)
		return
	}
}

// RemotePresence tells the room's members of this hub that a member of
// another node joined or left, as a local join or leave does: one
// `presence` frame in a small room, batched in `presence_diff` in a big one.
func (h *Hub) RemotePresence(room, event string, m Member, c Counts) {
	r := h.room(room)
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.dead && r.cl != nil && len(r.members) > 0 {
		r.announceLocked(event, m, nil, c)
	}
}

// Resync closes the room's members of this hub with CloseResync: the
// cluster missed messages of it that it cannot hand again, or its
// numbering started over. They leave the room at once, so that a client
// that joins it next starts from the room's position of then.
func (h *Hub) Resync(room string) {
	r := h.room(room)
	if r == nil {
		return
	}
	r.mu.Lock()
	members := h.evictLocked(r, true)
	r.mu.Unlock()
	if len(members) > 0 {
		h.log.Info("resyncing a room: its members resume", zap.String("room", room), zap.Int("members", len(members)))
	}
	for _, m := range members {
		m.c.Close(CloseResync, resyncReason)
	}
}

// LocalMembers lists every room of the hub's cluster with members here,
// and those members.
func (h *Hub) LocalMembers() map[string][]ClusterMember {
	out := make(map[string][]ClusterMember)
	for _, r := range h.allRooms() {
		r.mu.Lock()
		if !r.dead && r.cl != nil && len(r.members) > 0 {
			list := make([]ClusterMember, len(r.members))
			for i, m := range r.members {
				list[i] = m.cluster()
			}
			out[r.name] = list
		}
		r.mu.Unlock()
	}
	return out
}

var _ ClusterSink = (*Hub)(nil)
