package hub

import "time"

// A join into a room on a cluster: the member is recorded by the cluster
// first, and what `joined` lists and replays is asked of it, all under the
// room's lock, before the member is added here. Whatever fails leaves no
// trace: the cluster is told the member left, and the join answers
// `unavailable`.

// addClusteredLocked makes c a member of r, a room on a cluster, and
// queues what the join tells c and the others. The caller holds r.mu.
func (h *Hub) addClusteredLocked(r *Room, c *Client, req joinRequest) error {
	most := c.cfg.MaxMembers
	if most > 0 && len(r.members) >= most {
		return errRoomFull
	}
	m := ClusterMember{Member: c.member(), RemoteAddr: c.RemoteAddr, JoinedAt: time.Now()}
	first := len(r.members) == 0
	pos, counts, err := r.cl.Join(r.name, m, r.limits, first)
	if err != nil {
		return brokerError(err)
	}
	if first { // the cluster delivers every message after pos here
		r.epoch, r.seq = pos.Epoch, pos.Seq
	}
	var ans joinAnswer
	if most > 0 && counts.Members > most {
		err = errRoomFull // full on the whole cluster
	} else if c.cfg.Protocol == JSON {
		ans, err = h.clusterAnswerLocked(r, c, counts, req)
	}
	if err != nil {
		r.cl.Leave(r.name, m, first)
		return err
	}
	_ = r.addLocked(c, 0, m.JoinedAt)
	h.obs.MembersChanged(1)
	r.usePresenceConfigLocked(c.cfg)
	if c.cfg.Protocol == JSON {
		c.send(ans.joined)
		for _, f := range ans.replay {
			c.send(f)
		}
	}
	r.announceLocked("join", c.member(), c, counts)
	return nil
}

// joinAnswer is what a join queues for the joiner: `joined`, then the
// messages it asked for.
type joinAnswer struct {
	joined *Frame
	replay []*Frame
}

// clusterAnswerLocked makes `joined` and the replay for c, joining r on
// its cluster. The caller holds r.mu.
func (h *Hub) clusterAnswerLocked(r *Room, c *Client, counts Counts, req joinRequest) (joinAnswer, error) {
	p, counts, err := r.clusterPresenceLocked(c, counts, true)
	if err != nil {
		return joinAnswer{}, err
	}
	replay, res, err := r.clusterReplayLocked(req)
	if err != nil {
		return joinAnswer{}, err
	}
	if res.asked {
		h.obs.Resumed(res.reason)
	}
	return joinAnswer{joined: joinedFrame(r, counts.Members, req.id, p, res), replay: replay}, nil
}

// clusterPresenceLocked is what `joined` tells c of r's members, from the
// cluster: the counts, and the members when there are at most c's
// PresenceList of them and c's route has presence on. known says that
// counts are the room's already: a room too big for the list needs no
// page then. The caller holds r.mu.
func (r *Room) clusterPresenceLocked(c *Client, counts Counts, known bool) (joinedPresence, Counts, error) {
	list := !c.cfg.NoPresence
	if known && (!list || counts.Members > c.cfg.PresenceList) {
		return joinedPresence{users: counts.Users}, counts, nil
	}
	limit := 0
	if list {
		limit = c.cfg.PresenceList
	}
	page, counts, more, err := r.cl.Page(r.name, "", limit)
	if err != nil {
		return joinedPresence{}, counts, brokerError(err)
	}
	p := joinedPresence{users: counts.Users}
	if list && !more {
		p.list, p.members = true, page
	}
	return p, counts, nil
}

// clusterReplayLocked answers a join's since or last from the cluster's
// history: the messages after since (or the last ones) up to the room's
// seq here, the last delivered here, so that the live ones follow them
// with none twice. The caller holds r.mu.
func (r *Room) clusterReplayLocked(req joinRequest) ([]*Frame, resumeAnswer, error) {
	switch {
	case req.since != nil:
		since := *req.since
		res := resumeAnswer{asked: true}
		switch {
		case since.Epoch != r.epoch:
			res.reason = ReasonEpochChanged
		case since.Seq > r.seq:
			res.reason = ReasonTooOld
		case since.Seq < r.seq:
			frames, complete, err := r.clusterSinceLocked(since.Seq)
			if err != nil || !complete {
				res.reason = ReasonTooOld
				frames = nil
			}
			return frames, res, err
		}
		return nil, res, nil
	case req.last > 0:
		n := uint64(min(req.last, MaxLast))
		frames, _, err := r.clusterSinceLocked(r.seq - min(n, r.seq))
		return frames, resumeAnswer{}, err
	}
	return nil, resumeAnswer{}, nil
}

// clusterSinceLocked frames the cluster's kept messages of r after seq, up
// to r's seq, as they were delivered. complete is false when one of them
// is no longer kept, or the cluster's numbering is another epoch's (then
// no frame). The caller holds r.mu.
func (r *Room) clusterSinceLocked(seq uint64) (frames []*Frame, complete bool, err error) {
	msgs, pos, complete, _, err := r.cl.Since(r.name, seq, r.seq, 0)
	if err != nil {
		return nil, false, brokerError(err)
	}
	if pos.Epoch != r.epoch {
		return nil, false, nil
	}
	frames = make([]*Frame, 0, len(msgs))
	for _, msg := range msgs {
		m := message{from: msg.From, rawSender: msg.Raw, data: msg.Data, seq: msg.Seq}
		frames = append(frames, m.frameFor(r, JSON))
	}
	return frames, complete, nil
}
