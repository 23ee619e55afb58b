package hub

// The operator's ways to make members leave: Kick disconnects one, Empty
// makes every member of a room leave it. With a cluster they reach the
// node that holds the members.

// Kick disconnects the member of room called clientID with close code
// CloseKicked (do not reconnect); it reports false when there is no such
// member. With a cluster the member may be on any node; err wraps
// ErrUnavailable when the broker could not be asked.
func (h *Hub) Kick(room, clientID string) (bool, error) {
	return h.KickWithCode(room, clientID, CloseKicked)
}

// KickWithCode is Kick with the close code given: ClosePolicy tells the
// client that it may reconnect.
func (h *Hub) KickWithCode(room, clientID string, code int) (bool, error) {
	if h.KickLocal(room, clientID, code) {
		return true, nil
	}
	cl := h.clusterNow()
	if cl == nil {
		return false, nil
	}
	ok, err := cl.Kick(room, clientID, code)
	if err != nil {
		return false, brokerError(err)
	}
	return ok, nil
}

// KickLocal disconnects the member of room called client when it is a
// connection of this hub, with close code; false when it is not.
func (h *Hub) KickLocal(room, client string, code int) bool {
	c := h.Client(client)
	if c == nil {
		return false
	}
	c.roomsMu.Lock()
	_, in := c.rooms[room]
	c.roomsMu.Unlock()
	if !in {
		return false
	}
	c.Close(code, "disconnected by the operator")
	return true
}

// Empty makes every member leave the room called name: each gets `left`,
// the others get no presence for it (they leave too), and connections stay
// open. It reports false when there is no such room. With a cluster the
// members of every node leave, each node's as its hub's Emptied runs; err
// wraps ErrUnavailable when the broker could not be asked.
func (h *Hub) Empty(name string) (bool, error) {
	if cl := h.clusterNow(); cl != nil {
		ok, err := cl.Empty(name)
		if err != nil {
			return false, brokerError(err)
		}
		return ok, nil
	}
	return h.emptyLocal(name), nil
}

// Emptied makes the room's members of this hub leave it, as Empty does.
func (h *Hub) Emptied(room string) { h.emptyLocal(room) }

// emptyLocal makes every local member of the room leave it, each told
// with `left`; false when the room has no local member.
func (h *Hub) emptyLocal(name string) bool {
	r := h.room(name)
	if r == nil {
		return false
	}
	r.mu.Lock()
	members := h.evictLocked(r, true)
	r.mu.Unlock()
	for _, m := range members {
		m.c.roomsMu.Lock()
		if m.c.rooms[name] == r {
			delete(m.c.rooms, name)
		}
		m.c.roomsMu.Unlock()
		m.c.sendJSON(leftFrame(r, ""))
	}
	return len(members) > 0
}
