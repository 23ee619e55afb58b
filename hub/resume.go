package hub

import "time"

// Resumes and late joiners: a join may say where the client stands
// ("since") or ask for the room's recent messages ("last"). Either way the
// messages are queued right after `joined`, under the room's lock, so that
// they come before any later message of the room and none comes twice.

// Why a resume is not recovered, as `joined` says it.
const (
	// ReasonEpochChanged: the room's numbering started over since.
	ReasonEpochChanged = "epoch_changed"
	// ReasonTooOld: the room no longer keeps every message after since.
	ReasonTooOld = "too_old"
)

// ResumeReasons lists the reasons, for metrics that label by them.
var ResumeReasons = []string{ReasonEpochChanged, ReasonTooOld}

// MaxLast caps how many recent messages a join's "last" may ask for.
const MaxLast = 1000

// joinRequest is one join: the room, the correlation id, and where the
// client stands (since) or how many recent messages it asks for (last).
type joinRequest struct {
	room, id string
	since    *Position
	last     int
}

// resumeAnswer is what `joined` says of a resume: asked is false for a
// join without since; reason is empty when recovered.
type resumeAnswer struct {
	asked  bool
	reason string
}

// sendJoinedLocked queues `joined` for c and then the messages its request
// asks for. The caller holds r.mu. A raw client gets nothing.
func (h *Hub) sendJoinedLocked(r *Room, c *Client, counts Counts, req joinRequest) {
	if c.cfg.Protocol != JSON {
		return
	}
	var replay []Entry
	var res resumeAnswer
	switch {
	case req.since != nil:
		replay, res = r.resumeLocked(*req.since)
		h.obs.Resumed(res.reason)
	case req.last > 0:
		n := uint64(min(req.last, MaxLast))
		replay, _, _ = r.log.Since(r.seq-min(n, r.seq), 0)
	}
	c.send(h.joinedLocked(r, c, counts, req.id, res))
	for _, e := range replay {
		if e.Frame != nil {
			c.send(replayed(e.Frame))
		}
	}
}

// resumeLocked answers a resume from since: every message after it, or
// none and the reason.
func (r *Room) resumeLocked(since Position) ([]Entry, resumeAnswer) {
	if since.Epoch != r.epoch {
		return nil, resumeAnswer{asked: true, reason: ReasonEpochChanged}
	}
	entries, _, complete := r.log.Since(since.Seq, 0)
	if !complete {
		return nil, resumeAnswer{asked: true, reason: ReasonTooOld}
	}
	return entries, resumeAnswer{asked: true}
}

// replayed is a kept frame sent again: the same bytes, stamped now, so the
// write-latency metric measures the replay, not the message's age.
func replayed(f *Frame) *Frame {
	return &Frame{b: f.b, at: time.Now()}
}
