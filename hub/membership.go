package hub

import "time"

// join puts c in the room called name, answering with id.
func (h *Hub) join(c *Client, name, id string) error {
	return h.joinWith(c, joinRequest{room: name, id: id})
}

// joinWith puts c in the room. It queues `joined` for c, with the replay
// the request asks for, and a presence `join` for the other members.
// Joining a room c is in already answers `joined` again and changes
// nothing.
func (h *Hub) joinWith(c *Client, req joinRequest) error {
	name := req.room
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
		return h.joinedAgain(r, c, req.id)
	}
	if len(c.rooms) >= c.cfg.MaxRooms {
		return errTooManyRooms
	}
	r := h.roomForJoin(name, c.cfg.historyLimits())
	defer r.mu.Unlock()
	var err error
	if r.cl != nil {
		err = h.addClusteredLocked(r, c, req)
	} else {
		err = h.addLocalLocked(r, c, req)
	}
	if err != nil {
		h.dropIfEmptyLocked(r)
		return err
	}
	c.rooms[name] = r
	return nil
}

// addLocalLocked makes c a member of r, a room of this hub alone, and
// queues what the join tells c and the others. The caller holds r.mu.
func (h *Hub) addLocalLocked(r *Room, c *Client, req joinRequest) error {
	if err := r.addLocked(c, c.cfg.MaxMembers, time.Now()); err != nil {
		return err
	}
	h.obs.MembersChanged(1)
	counts := h.pres.Add(r.name, c.member())
	r.usePresenceConfigLocked(c.cfg)
	h.sendJoinedLocked(r, c, counts, req)
	r.announceLocked("join", c.member(), c, counts)
	return nil
}

// joinedAgain answers the join of a room c is in already: `joined` again.
func (h *Hub) joinedAgain(r *Room, c *Client, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cl == nil {
		c.sendJSON(h.joinedLocked(r, c, h.pres.Counts(r.name), id, resumeAnswer{}))
		return nil
	}
	p, counts, err := r.clusterPresenceLocked(c, Counts{}, false)
	if err != nil {
		return err
	}
	c.sendJSON(joinedFrame(r, counts.Members, id, p, resumeAnswer{}))
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
	gone, ok := r.removeLocked(c)
	if !ok {
		return false
	}
	h.obs.MembersChanged(-1)
	var counts Counts
	if r.cl != nil {
		counts = r.cl.Leave(r.name, gone.cluster(), len(r.members) == 0)
	} else {
		counts = h.pres.Remove(r.name, c.member())
	}
	r.announceLocked("leave", c.member(), c, counts)
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

// evictLocked takes every member out of r and returns them; r is dropped.
// When recorded, presence (the cluster's or the hub's) is told that each
// one left; the others are not told, since they leave too. The caller
// holds r.mu, and takes the room out of each member's rooms after it.
func (h *Hub) evictLocked(r *Room, recorded bool) []member {
	members := r.members
	r.members, r.index = nil, make(map[*Client]int)
	h.obs.MembersChanged(-len(members))
	for i, m := range members {
		switch {
		case !recorded:
		case r.cl != nil:
			r.cl.Leave(r.name, m.cluster(), i == len(members)-1)
		default:
			h.pres.Remove(r.name, m.c.member())
		}
	}
	h.dropIfEmptyLocked(r)
	return members
}
