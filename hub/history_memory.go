package hub

import (
	"crypto/rand"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultHistoryMaxBytes bounds the kept messages of one memory store (one
// hub), all rooms together, in bytes of their frames. Above it the history
// of the rooms whose last message is oldest is dropped first; their
// numbering stays, so a resume from before it answers `too_old`.
const DefaultHistoryMaxBytes = 64 << 20

// sweepEvery is how often a memory store drops expired messages and logs.
const sweepEvery = time.Second

// MemoryStore is the in-process Store: each room's log in a map sharded as
// the hub's rooms are, each message kept as the frame already made for the
// room's members, no copy.
type MemoryStore struct {
	shards   [shardCount]memShard
	maxBytes int64
	bytes    atomic.Int64
	messages atomic.Int64
	evicting atomic.Bool
	sweeping atomic.Bool // a sweep is scheduled
	seed     maphash.Seed
}

type memShard struct {
	mu   sync.Mutex
	logs map[string]*memLog
}

// NewMemoryStore returns an empty store that keeps at most maxBytes of
// messages (0: DefaultHistoryMaxBytes).
func NewMemoryStore(maxBytes int64) *MemoryStore {
	if maxBytes <= 0 {
		maxBytes = DefaultHistoryMaxBytes
	}
	s := &MemoryStore{maxBytes: maxBytes, seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].logs = make(map[string]*memLog)
	}
	return s
}

// Open returns the room's log, a new one (new epoch) when none is kept.
func (s *MemoryStore) Open(name string, limits HistoryLimits) Log {
	sh := &s.shards[s.shardOf(name)]
	sh.mu.Lock()
	l := sh.logs[name]
	if l == nil {
		l = &memLog{store: s, epoch: newEpoch(), limits: limits, lastAt: time.Now()}
		sh.logs[name] = l
	}
	l.mu.Lock()
	l.users++
	l.mu.Unlock()
	sh.mu.Unlock()
	s.scheduleSweep()
	return l
}

// Lookup returns the room's kept log, or nil.
func (s *MemoryStore) Lookup(name string) Log {
	sh := &s.shards[s.shardOf(name)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if l := sh.logs[name]; l != nil {
		return l
	}
	return nil
}

// Kept is how many messages the store keeps, and the size of their
// frames, all rooms together.
func (s *MemoryStore) Kept() (messages int, bytes int64) {
	return int(s.messages.Load()), s.bytes.Load()
}

func (s *MemoryStore) shardOf(name string) int {
	return int(maphash.String(s.seed, name) % shardCount)
}

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}

// kept counts messages and bytes added (or, negative, dropped); over the
// bound it starts an eviction.
func (s *MemoryStore) kept(messages int, bytes int64) {
	if messages != 0 {
		s.messages.Add(int64(messages))
	}
	if bytes != 0 && s.bytes.Add(bytes) > s.maxBytes && s.evicting.CompareAndSwap(false, true) {
		go s.evict()
	}
}

// scheduleSweep makes sure a sweep will run while the store keeps logs;
// a store that keeps none has no timer.
func (s *MemoryStore) scheduleSweep() {
	if s.sweeping.CompareAndSwap(false, true) {
		time.AfterFunc(sweepEvery, s.sweep)
	}
}

// sweep drops expired messages, keys and logs, and schedules the next
// sweep unless nothing is left.
func (s *MemoryStore) sweep() {
	now := time.Now()
	left := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for name, l := range sh.logs {
			if l.expire(now) {
				delete(sh.logs, name)
			}
		}
		left += len(sh.logs)
		sh.mu.Unlock()
	}
	s.sweeping.Store(false)
	if left > 0 {
		s.scheduleSweep()
	}
}

var _ Store = (*MemoryStore)(nil)
