// Package hub is the room engine of caddyrooms: connections, rooms, ordered
// fan-out and the per-connection writer. It knows WebSocket framing but
// nothing of Caddy, so it can be tested and benchmarked on its own.
package hub

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// shardCount spreads rooms and clients over independent locks, so that no
// lock is shared by the whole process on publish.
const shardCount = 64

// Hub is a registry of rooms and connections.
type Hub struct {
	rooms   [shardCount]roomShard
	clients [shardCount]clientShard
	seed    maphash.Seed
	obs     Observer
	log     *zap.Logger
	store   Store
	pres    Presence
	closed  atomic.Bool
	wg      sync.WaitGroup // connections being served
	noPoll  bool

	cluster   atomic.Pointer[clusterBox] // nil: the hub works alone
	switching sync.Mutex                 // one SetCluster at a time
}

type roomShard struct {
	mu    sync.RWMutex
	rooms map[string]*Room
}

type clientShard struct {
	mu      sync.RWMutex
	clients map[string]*Client
}

// Options configure a Hub.
type Options struct {
	Observer Observer    // metrics; nil observes nothing
	Logger   *zap.Logger // nil logs nothing
	// NoPoll reads every connection on a goroutine of its own, as
	// connections the poller cannot read are; for tests and comparisons.
	NoPoll bool
	// Store keeps rooms' numbering and history; nil is a MemoryStore
	// bounded by HistoryMaxBytes.
	Store Store
	// HistoryMaxBytes bounds the default store's history, all rooms
	// together; 0 is DefaultHistoryMaxBytes.
	HistoryMaxBytes int64
	// Presence keeps who is in each room; nil is NewPresence(), in memory.
	Presence Presence
	// Cluster shares the hub's rooms with the hubs of other processes
	// through a broker; nil (the default) keeps every room in this
	// process, through Store and Presence. New starts it.
	Cluster Cluster
}

// New returns an empty hub.
func New(o Options) *Hub {
	h := &Hub{seed: maphash.MakeSeed(), obs: o.Observer, log: o.Logger, noPoll: o.NoPoll, store: o.Store, pres: o.Presence}
	if h.store == nil {
		h.store = NewMemoryStore(o.HistoryMaxBytes)
	}
	if h.pres == nil {
		h.pres = NewPresence()
	}
	if h.obs == nil {
		h.obs = nopObserver{}
	}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	for i := range h.rooms {
		h.rooms[i].rooms = make(map[string]*Room)
		h.clients[i].clients = make(map[string]*Client)
	}
	if o.Cluster != nil {
		h.cluster.Store(&clusterBox{o.Cluster})
		o.Cluster.Start(h)
	}
	return h
}

func (h *Hub) shardOf(key string) int {
	return int(maphash.String(h.seed, key) % shardCount)
}

// room returns the live room called name, or nil.
func (h *Hub) room(name string) *Room {
	s := &h.rooms[h.shardOf(name)]
	s.mu.RLock()
	r := s.rooms[name]
	s.mu.RUnlock()
	return r
}

// roomForJoin returns the room called name, creating it (its log opened
// with limits, or on the hub's cluster), locked. The room returned is never
// dead, and is on the hub's cluster of now.
func (h *Hub) roomForJoin(name string, limits HistoryLimits) *Room {
	for {
		r := h.room(name)
		if r == nil {
			r = h.createRoom(name, limits)
		}
		r.mu.Lock()
		if !r.dead {
			h.followClusterLocked(r) // a SetCluster may have passed it by
		}
		if !r.dead {
			return r
		}
		r.mu.Unlock()
	}
}

// createRoom returns the room called name, made and registered unless
// another join did it first. Without a cluster its log is opened before
// anyone can publish to it.
func (h *Hub) createRoom(name string, limits HistoryLimits) *Room {
	s := &h.rooms[h.shardOf(name)]
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[name]; r != nil {
		return r
	}
	r := newRoom(name)
	r.limits = limits
	if cl := h.clusterNow(); cl != nil {
		r.cl = cl
	} else {
		r.open(h.store, limits)
	}
	s.rooms[name] = r
	h.obs.RoomCreated()
	return r
}

// allRooms lists the hub's rooms.
func (h *Hub) allRooms() []*Room {
	var list []*Room
	for i := range h.rooms {
		s := &h.rooms[i]
		s.mu.RLock()
		for _, r := range s.rooms {
			list = append(list, r)
		}
		s.mu.RUnlock()
	}
	return list
}

// dropIfEmptyLocked removes r from the hub when it has no members. The
// caller holds r.mu; the shard lock is taken after it, which is safe because
// nothing holds a shard lock while waiting for a room lock.
func (h *Hub) dropIfEmptyLocked(r *Room) {
	if len(r.members) > 0 || r.dead {
		return
	}
	if r.log != nil {
		r.log.Close() // before a new room of that name opens it
	}
	s := &h.rooms[h.shardOf(r.name)]
	s.mu.Lock()
	if s.rooms[r.name] == r {
		delete(s.rooms, r.name)
	}
	s.mu.Unlock()
	r.dead = true
	h.obs.RoomDeleted()
}

func (h *Hub) addClient(c *Client) {
	s := &h.clients[h.shardOf(c.ID)]
	s.mu.Lock()
	s.clients[c.ID] = c
	s.mu.Unlock()
}

func (h *Hub) removeClient(c *Client) {
	s := &h.clients[h.shardOf(c.ID)]
	s.mu.Lock()
	if s.clients[c.ID] == c {
		delete(s.clients, c.ID)
	}
	s.mu.Unlock()
}

// Client returns the connection with that id, or nil.
func (h *Hub) Client(id string) *Client {
	s := &h.clients[h.shardOf(id)]
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.clients[id]
}

// eachClient calls fn for every connection.
func (h *Hub) eachClient(fn func(*Client)) {
	for i := range h.clients {
		s := &h.clients[i]
		s.mu.RLock()
		list := make([]*Client, 0, len(s.clients))
		for _, c := range s.clients {
			list = append(list, c)
		}
		s.mu.RUnlock()
		for _, c := range list {
			fn(c)
		}
	}
}

// ClientCount is the number of open connections.
func (h *Hub) ClientCount() int {
	n := 0
	for i := range h.clients {
		h.clients[i].mu.RLock()
		n += len(h.clients[i].clients)
		h.clients[i].mu.RUnlock()
	}
	return n
}

// Close closes every connection with code and reason and refuses new ones.
// It waits, at most timeout, for their handlers to return (each leaves its
// rooms first), then closes the hub's cluster, if any.
func (h *Hub) Close(code int, reason string, timeout time.Duration) {
	h.closed.Store(true)
	h.eachClient(func(c *Client) { c.cutOff(code, reason) })
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
	h.switching.Lock()
	defer h.switching.Unlock()
	if b := h.cluster.Swap(nil); b != nil {
		h.closeCluster(b.c)
	}
}

// Closed reports whether Close was called.
func (h *Hub) Closed() bool { return h.closed.Load() }
