package hub

// join puts c in the room called name. It queues `joined` for c (with id)
// and a presence `join` for the other members. Joining a room c is in
// already answers `joined` again and changes nothing.
func (h *Hub) join(c *Client, name, id string) error {
	if name == "" {
		return errMissingRoom
	}
	if !validRoom(name) {
		return errInvalidRoom
	}
	if h.closed.Load() {
		return errClosing
	}
	if a := c.cfg.Authorizer; a != nil {
		if err := a.AllowJoin(c, name); err != nil {
			return err
		}
	}
	c.roomsMu.Lock()
	defer c.roomsMu.Unlock()
	if r, ok := c.rooms[name]; ok {
		r.mu.Lock()
		c.sendJSON(h.joinedLocked(r, c, h.pres.Counts(name), id))
		r.mu.Unlock()
		return nil
	}
	if len(c.rooms) >= c.cfg.MaxRooms {
		return errTooManyRooms
	}
	r := h.roomForJoin(name)
	defer r.mu.Unlock()
	if _, err := r.addLocked(c, c.cfg.MaxMembers); err != nil {
		h.dropIfEmptyLocked(r)
		return err
	}
	c.rooms[name] = r
	h.obs.MembersChanged(1)
	counts := h.pres.Add(name, c.member())
	r.usePresenceConfigLocked(c.cfg)
	c.sendJSON(h.joinedLocked(r, c, counts, id))
	r.announceLocked("join", c, counts)
	return nil
}

// leave takes c out of the room called name, queues `left` for c and a
// presence `leave` for the others.
func (h *Hub) leave(c *Client, name, id string) error {
	if name == "" {
		return errMissingRoom
	}
	c.roomsMu.Lock()
	r, ok := c.rooms[name]
	if ok {
		delete(c.rooms, name)
	}
	c.roomsMu.Unlock()
	if !ok || !h.leaveRoom(c, r) {
		return errNotMember
	}
	c.sendJSON(leftFrame(r, id))
	return nil
}

// leaveRoom removes c from r and tells the others; false if c was not in it.
func (h *Hub) leaveRoom(c *Client, r *Room) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.removeLocked(c) {
		return false
	}
	h.obs.MembersChanged(-1)
	r.announceLocked("leave", c, h.pres.Remove(r.name, c.member()))
	h.dropIfEmptyLocked(r)
	return true
}

// leaveAll takes c out of every room, as when it disconnects.
func (h *Hub) leaveAll(c *Client) {
	c.roomsMu.Lock()
	rooms := c.rooms
	c.rooms = make(map[string]*Room)
	if len(rooms) > 0 { // for the disconnect log
		c.leftRooms = make([]string, 0, len(rooms))
		for name := range rooms {
			c.leftRooms = append(c.leftRooms, name)
		}
	}
	c.roomsMu.Unlock()
	for _, r := range rooms {
		h.leaveRoom(c, r)
	}
}

// Kick disconnects the member of room called clientID with close code
// CloseKicked (do not reconnect); it reports false when there is no such
// member.
func (h *Hub) Kick(room, clientID string) bool {
	return h.KickWithCode(room, clientID, CloseKicked)
}

// KickWithCode is Kick with the close code given: ClosePolicy tells the
// client that it may reconnect.
func (h *Hub) KickWithCode(room, clientID string, code int) bool {
	c := h.Client(clientID)
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
// open. It reports false when there is no such room.
func (h *Hub) Empty(name string) bool {
	r := h.room(name)
	if r == nil {
		return false
	}
	r.mu.Lock()
	members := r.members
	r.members, r.index = nil, make(map[*Client]int)
	h.obs.MembersChanged(-len(members))
	for _, m := range members {
		h.pres.Remove(name, m.c.member())
	}
	h.dropIfEmptyLocked(r)
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
