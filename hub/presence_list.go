package hub

// Page sizes of a `members` request.
const (
	DefaultPageLimit = 100  // members per page when the request gives no limit
	MaxPageLimit     = 1000 // the largest limit a request may ask for
)

var errInvalidLimit = newError(CodeInvalidLimit, `"limit" must be a whole number from 1 to 1000`)

// member is the connection as presence tells of it.
func (c *Client) member() Member { return Member{Client: c.ID, User: c.User} }

// joinedLocked is the `joined` frame for c in r: with the room's counts,
// and its members when the room has at most c's PresenceList of them and
// c's route has presence on. The caller holds r.mu, so that the list and
// the presence events that follow it agree.
func (h *Hub) joinedLocked(r *Room, c *Client, counts Counts, id string, res resumeAnswer) *Frame {
	p := joinedPresence{users: counts.Users}
	if !c.cfg.NoPresence && counts.Members <= c.cfg.PresenceList {
		p.list = true
		p.members, _, _ = h.pres.Page(r.name, "", c.cfg.PresenceList)
	}
	return joinedFrame(r, counts.Members, id, p, res)
}

// members answers a `members` request: one page of the members of a room
// c is in, sorted by connection id, starting after q.After.
func (h *Hub) members(c *Client, name, id string, q pageQuery) error {
	if name == "" {
		return errMissingRoom
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultPageLimit
	}
	if limit < 0 || limit > MaxPageLimit {
		return errInvalidLimit
	}
	c.roomsMu.Lock()
	r := c.rooms[name]
	c.roomsMu.Unlock()
	if r == nil {
		return errNotMember
	}
	// under the room's lock: the page and the presence frames around it
	// come in the room's order
	r.mu.Lock()
	defer r.mu.Unlock()
	page, counts, more, err := h.pageLocked(r, q.After, limit)
	if err != nil {
		return err
	}
	next := ""
	if more && len(page) > 0 {
		next = page[len(page)-1].Client
	}
	c.sendJSON(membersFrame(r, page, counts, next, id))
	return nil
}

// pageLocked is one page of r's members, from the room's cluster or the
// hub's presence. The caller holds r.mu.
func (h *Hub) pageLocked(r *Room, after string, limit int) ([]Member, Counts, bool, error) {
	if r.cl == nil {
		page, counts, more := h.pres.Page(r.name, after, limit)
		return page, counts, more, nil
	}
	page, counts, more, err := r.cl.Page(r.name, after, limit)
	if err != nil {
		return nil, counts, false, brokerError(err)
	}
	return page, counts, more, nil
}
