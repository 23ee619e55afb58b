package hub

import (
	"slices"
	"sync"
)

// Presence keeps who is in each room: the members' connection ids and
// identities, and how many distinct users they are. It is the hub's one
// seam for presence: the hub tells it of every join and leave, in each
// room's order (under the room's lock), and takes from it the counts, the
// lists in `joined` and the pages of `members`. The default, NewPresence,
// keeps the rooms of one process in memory; a cluster broker can keep them
// for every node behind the same interface. Implementations are safe for
// concurrent use.
type Presence interface {
	// Add records m as a member of room and returns the counts after it.
	Add(room string, m Member) Counts
	// Remove forgets m in room and returns the counts after it.
	Remove(room string, m Member) Counts
	// Counts returns room's counts.
	Counts(room string) Counts
	// Page lists at most limit members of room whose connection ids sort
	// after `after`, in that order, with the room's counts; more is true
	// when members follow the last one returned.
	Page(room, after string, limit int) (page []Member, c Counts, more bool)
}

// Member is one connection in a room, as presence tells of it.
type Member struct {
	Client string `json:"client"`
	User   string `json:"user,omitempty"`
}

// Counts are a room's sizes: Members counts connections, Users distinct
// identities, a connection without one counting as a user of its own.
type Counts struct {
	Members int `json:"members"`
	Users   int `json:"users"`
}

// NewPresence returns the in-memory Presence, the hub's default.
func NewPresence() Presence {
	p := &memoryPresence{}
	for i := range p.shards {
		p.shards[i].rooms = make(map[string]*roomPresence)
	}
	return p
}

// memoryPresence keeps presence in memory, in shards of rooms.
type memoryPresence struct {
	shards [shardCount]presenceShard
}

type presenceShard struct {
	mu    sync.Mutex
	rooms map[string]*roomPresence
}

// roomPresence is one room: its members sorted by connection id (for
// pages), each one's identity, each user's connection count, and how many
// have no identity (each one a user of its own).
type roomPresence struct {
	ids   []string          // sorted
	user  map[string]string // connection id -> identity
	users map[string]int    // identity -> connections
	anon  int
}

// addUser counts one more connection of user (delta 1) or one less (-1).
func (rp *roomPresence) addUser(user string, delta int) {
	switch {
	case user == "":
		rp.anon += delta
	case rp.users[user]+delta <= 0:
		delete(rp.users, user)
	default:
		rp.users[user] += delta
	}
}

func (p *memoryPresence) shard(room string) *presenceShard {
	return &p.shards[roomHash(room)%shardCount]
}

// roomHash is FNV-1a: cheap, and needs no seed shared with the hub.
func roomHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func (rp *roomPresence) counts() Counts {
	if rp == nil {
		return Counts{}
	}
	return Counts{Members: len(rp.ids), Users: len(rp.users) + rp.anon}
}

func (p *memoryPresence) Add(room string, m Member) Counts {
	s := p.shard(room)
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.rooms[room]
	if rp == nil {
		rp = &roomPresence{user: make(map[string]string), users: make(map[string]int)}
		s.rooms[room] = rp
	}
	i, found := slices.BinarySearch(rp.ids, m.Client)
	if !found {
		rp.ids = slices.Insert(rp.ids, i, m.Client)
		rp.user[m.Client] = m.User
		rp.addUser(m.User, 1)
	}
	return rp.counts()
}

func (p *memoryPresence) Remove(room string, m Member) Counts {
	s := p.shard(room)
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.rooms[room]
	if rp == nil {
		return Counts{}
	}
	if i, found := slices.BinarySearch(rp.ids, m.Client); found {
		rp.addUser(rp.user[m.Client], -1)
		rp.ids = slices.Delete(rp.ids, i, i+1)
		delete(rp.user, m.Client)
	}
	if len(rp.ids) == 0 {
		delete(s.rooms, room)
		return Counts{}
	}
	return rp.counts()
}

func (p *memoryPresence) Counts(room string) Counts {
	s := p.shard(room)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[room].counts()
}

func (p *memoryPresence) Page(room, after string, limit int) ([]Member, Counts, bool) {
	s := p.shard(room)
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.rooms[room]
	if rp == nil {
		return []Member{}, Counts{}, false
	}
	i, found := slices.BinarySearch(rp.ids, after)
	if found {
		i++
	}
	end := min(len(rp.ids), i+max(limit, 0))
	page := make([]Member, 0, end-i)
	for _, id := range rp.ids[i:end] {
		page = append(page, Member{Client: id, User: rp.user[id]})
	}
	return page, rp.counts(), end < len(rp.ids)
}

var _ Presence = (*memoryPresence)(nil)
