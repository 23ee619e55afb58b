package hub

import (
	"errors"

	"go.uber.org/zap"
)

// A hub's cluster, and how it changes while the hub runs (SetCluster):
// each room follows the hub's cluster of now, moved over by SetCluster or
// by the first join that finds it on another.

// clusterBox holds the hub's cluster, for an atomic pointer.
type clusterBox struct{ c Cluster }

// clusterNow is the hub's cluster, nil when it works alone.
func (h *Hub) clusterNow() Cluster {
	if b := h.cluster.Load(); b != nil {
		return b.c
	}
	return nil
}

// resyncReason is the close reason of a member whose room was resynced.
const resyncReason = "missed messages: resume"

// errPositionMoved: a room's position on a new cluster is not the one its
// members were told.
var errPositionMoved = errors.New("the room's position differs on the new cluster")

// SetCluster makes c the hub's cluster (nil: the hub works alone from
// now), as a reload that changes the broker does. c is started, every
// room with members is joined again on it (the first member with first
// set), and a room whose position there is not the one its members were
// told (epoch or seq) is resynced: its members are closed with
// CloseResync, to resume. Then the previous cluster is closed.
// Connections stay open otherwise.
func (h *Hub) SetCluster(c Cluster) {
	h.switching.Lock()
	defer h.switching.Unlock()
	old := h.clusterNow()
	if c == old {
		return
	}
	if c != nil {
		c.Start(h)
		h.cluster.Store(&clusterBox{c})
	} else {
		h.cluster.Store(nil)
	}
	for _, r := range h.allRooms() {
		r.mu.Lock()
		if !r.dead {
			h.followClusterLocked(r)
		}
		r.mu.Unlock()
	}
	if old != nil {
		h.closeCluster(old)
	}
}

// closeCluster closes c, logging a failure.
func (h *Hub) closeCluster(c Cluster) {
	if err := c.Close(); err != nil {
		h.log.Warn("closing the previous cluster", zap.Error(err))
	}
}

// followClusterLocked moves r to the hub's cluster of now if it is on
// another. The caller holds r.mu.
func (h *Hub) followClusterLocked(r *Room) {
	to := h.clusterNow()
	if r.cl == to && (to != nil || r.log != nil) {
		return
	}
	h.moveRoomLocked(r, to)
}

// moveRoomLocked puts r on the cluster to (nil: the hub alone) and its
// members with it; when the room's position there differs from the one
// they were told, or they cannot be recorded there, the members are
// closed with CloseResync and r is dropped. The caller holds r.mu.
func (h *Hub) moveRoomLocked(r *Room, to Cluster) {
	was := Position{Epoch: r.epoch, Seq: r.seq}
	if r.cl == nil && r.log != nil {
		for _, mb := range r.members {
			h.pres.Remove(r.name, mb.c.member())
		}
		r.log.Close()
		r.log = nil
	}
	r.cl = to
	if to == nil {
		r.open(h.store, r.limits)
	}
	if len(r.members) == 0 {
		return
	}
	err := h.rejoinLocked(r, was)
	if err == nil {
		return
	}
	h.log.Info("resyncing a room on a new cluster", zap.String("room", r.name), zap.Int("members", len(r.members)), zap.Error(err))
	for _, m := range h.evictLocked(r, false) {
		m.c.Close(CloseResync, resyncReason)
	}
}

// rejoinLocked records r's members where r is now (its cluster, or the
// hub's presence) and checks that r's position there is was. On failure
// the members are recorded nowhere. The caller holds r.mu.
func (h *Hub) rejoinLocked(r *Room, was Position) error {
	if r.cl == nil {
		if (Position{Epoch: r.epoch, Seq: r.seq}) != was {
			return errPositionMoved
		}
		for _, mb := range r.members {
			h.pres.Add(r.name, mb.c.member())
		}
		return nil
	}
	for i, mb := range r.members {
		pos, _, err := r.cl.Join(r.name, mb.cluster(), r.limits, i == 0)
		if err == nil && i == 0 && pos != was {
			i, err = 1, errPositionMoved // member 0 is recorded: it leaves too
		}
		if err != nil {
			for j, joined := range r.members[:i] {
				r.cl.Leave(r.name, joined.cluster(), j == i-1)
			}
			return err
		}
	}
	return nil
}
