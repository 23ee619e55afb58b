package hub

import (
	"sort"
	"strings"
	"time"
)

// The read models of the admin API: what a hub reports of its rooms and
// their members. Nothing here changes the hub.

// RoomSummary is a room in a listing.
type RoomSummary struct {
	Name    string `json:"name"`
	Members int    `json:"members"`
}

// Rooms lists rooms sorted by name: those starting with prefix, after the
// name after, at most limit of them (0 is no limit). With a cluster they
// are the rooms of every node, each with its members on every node; err
// wraps ErrUnavailable when the broker could not be asked.
func (h *Hub) Rooms(prefix, after string, limit int) ([]RoomSummary, error) {
	if cl := h.clusterNow(); cl != nil {
		rooms, err := cl.Rooms(prefix, after, limit)
		if err != nil {
			return nil, brokerError(err)
		}
		return rooms, nil
	}
	return h.localRooms(prefix, after, limit), nil
}

// localRooms lists the rooms of this hub, as Rooms does.
func (h *Hub) localRooms(prefix, after string, limit int) []RoomSummary {
	var found []*Room
	for i := range h.rooms {
		s := &h.rooms[i]
		s.mu.RLock()
		for name, r := range s.rooms {
			if strings.HasPrefix(name, prefix) && name > after {
				found = append(found, r)
			}
		}
		s.mu.RUnlock()
	}
	sort.Slice(found, func(i, j int) bool { return found[i].name < found[j].name })
	out := make([]RoomSummary, 0, len(found))
	for _, r := range found {
		if n := r.memberCount(); n > 0 { // a room emptied meanwhile is gone
			out = append(out, RoomSummary{Name: r.name, Members: n})
		}
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

func (r *Room) memberCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.members)
}

// MemberInfo is one member of a room, for the admin API.
type MemberInfo struct {
	ID         string    `json:"id"`
	User       string    `json:"user,omitempty"`
	RemoteAddr string    `json:"remote_addr"`
	JoinedAt   time.Time `json:"joined_at"`
	// Node is the cluster node the member is connected to; empty without
	// a cluster.
	Node string `json:"node,omitempty"`
}

// RoomDetail is one room with its members.
type RoomDetail struct {
	Name    string       `json:"name"`
	Members int          `json:"members"`
	Users   int          `json:"users"` // distinct users (see Counts)
	Seq     uint64       `json:"seq"`
	Clients []MemberInfo `json:"clients"`
}

// Room describes the room called name; ok is false when there is none.
// With a cluster it lists the members of every node, each with its Node;
// err wraps ErrUnavailable when the broker could not be asked.
func (h *Hub) Room(name string) (d RoomDetail, ok bool, err error) {
	if cl := h.clusterNow(); cl != nil {
		return clusterRoom(cl, name)
	}
	d, ok = h.localRoom(name)
	return d, ok, nil
}

// clusterRoom describes the room called name from its cluster.
func clusterRoom(cl Cluster, name string) (RoomDetail, bool, error) {
	clients, counts, pos, ok, err := cl.Clients(name)
	if err != nil {
		return RoomDetail{}, false, brokerError(err)
	}
	if !ok {
		return RoomDetail{}, false, nil
	}
	d := RoomDetail{Name: name, Members: counts.Members, Users: counts.Users, Seq: pos.Seq, Clients: make([]MemberInfo, 0, len(clients))}
	for _, c := range clients {
		m := c.MemberInfo
		m.Node = c.Node
		d.Clients = append(d.Clients, m)
	}
	sort.Slice(d.Clients, func(i, j int) bool { return d.Clients[i].JoinedAt.Before(d.Clients[j].JoinedAt) })
	return d, true, nil
}

// localRoom describes the room called name of this hub, as Room does.
func (h *Hub) localRoom(name string) (d RoomDetail, ok bool) {
	r := h.room(name)
	if r == nil {
		return d, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead {
		return d, false
	}
	d = RoomDetail{Name: name, Members: len(r.members), Seq: r.seq, Clients: make([]MemberInfo, 0, len(r.members))}
	d.Users = h.pres.Counts(name).Users
	for _, m := range r.members {
		d.Clients = append(d.Clients, MemberInfo{ID: m.c.ID, User: m.c.User, RemoteAddr: m.c.RemoteAddr, JoinedAt: m.joinedAt})
	}
	sort.Slice(d.Clients, func(i, j int) bool { return d.Clients[i].JoinedAt.Before(d.Clients[j].JoinedAt) })
	return d, true
}
