package hub

import (
	"sort"
	"sync"
	"time"
)

// memLog is a MemoryStore's log of one room: its position, its last
// messages in a ring that grows up to the size limit, and its publish keys.
type memLog struct {
	store *MemoryStore

	mu      sync.Mutex
	epoch   string
	seq     uint64
	limits  HistoryLimits
	ring    []Entry // oldest at ring[head] once the ring is full
	head    int
	bytes   int64     // of the frames in ring
	lastMsg time.Time // the last Append
	lastAt  time.Time // the last Append or Close
	users   int
	keys    map[string]keyEntry
}

// keyEntry is a publish key's receipt and when it was kept.
type keyEntry struct {
	Receipt
	at time.Time
}

// Position is the room's epoch and last seq.
func (l *memLog) Position() Position {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Position{Epoch: l.epoch, Seq: l.seq}
}

// Append keeps e in the ring, dropping the oldest once it is full.
func (l *memLog) Append(e Entry) {
	l.mu.Lock()
	l.seq = e.Seq
	if l.limits.Size <= 0 || e.Frame == nil {
		l.lastMsg = time.Now()
		l.lastAt = l.lastMsg
		l.mu.Unlock()
		return
	}
	l.lastMsg, l.lastAt = e.Frame.at, e.Frame.at
	added, n := int64(len(e.Frame.b)), 1
	if len(l.ring) < l.limits.Size {
		l.ring = append(l.ring, e)
	} else {
		added -= int64(len(l.ring[l.head].Frame.b))
		n = 0
		l.ring[l.head] = e
		l.head = (l.head + 1) % len(l.ring)
	}
	l.bytes += added
	l.mu.Unlock()
	l.store.kept(n, added)
}

// at is the i-th kept message, oldest first.
func (l *memLog) at(i int) Entry {
	return l.ring[(l.head+i)%len(l.ring)]
}

// Since returns the kept messages after seq (see Log).
func (l *memLog) Since(seq uint64, limit int) ([]Entry, Position, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expireMessagesLocked(time.Now())
	pos := Position{Epoch: l.epoch, Seq: l.seq}
	if seq >= l.seq {
		return nil, pos, seq == l.seq
	}
	if len(l.ring) == 0 {
		return nil, pos, false
	}
	first, complete := l.at(0).Seq, true
	skip := 0
	if first > seq+1 {
		complete = false
	} else {
		skip = int(seq + 1 - first)
	}
	n := len(l.ring) - skip
	if limit > 0 && n > limit {
		n = limit
	}
	out := make([]Entry, n)
	for i := range out {
		out[i] = l.at(skip + i)
	}
	return out, pos, complete
}

// Receipt returns the receipt kept for key.
func (l *memLog) Receipt(key string) (Receipt, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, ok := l.keys[key]
	return k.Receipt, ok
}

// Remember keeps r for key, from now.
func (l *memLog) Remember(key string, r Receipt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = make(map[string]keyEntry)
	}
	l.keys[key] = keyEntry{Receipt: r, at: time.Now()}
}

// Close counts one user less; the log's TTL runs from now.
func (l *memLog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.users--
	l.lastAt = time.Now()
}

// expireMessagesLocked drops every kept message once the room's last one
// is older than the TTL.
func (l *memLog) expireMessagesLocked(now time.Time) {
	if len(l.ring) > 0 && now.Sub(l.lastMsg) > l.limits.TTL {
		l.dropMessagesLocked()
	}
}

// dropMessagesLocked forgets every kept message; the position stays.
func (l *memLog) dropMessagesLocked() {
	n, b := len(l.ring), l.bytes
	l.ring, l.head, l.bytes = nil, 0, 0
	l.store.kept(-n, -b)
}

// expire drops what has expired; it reports true when nothing of the log
// need be kept: no user, and its TTL past since its last message or user.
func (l *memLog) expire(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expireMessagesLocked(now)
	first := l.seq + 1 // the oldest kept seq
	if len(l.ring) > 0 {
		first = l.at(0).Seq
	}
	for key, k := range l.keys {
		if k.Seq < first && now.Sub(k.at) > MinKeyTTL {
			delete(l.keys, key)
		}
	}
	return l.users == 0 && now.Sub(l.lastAt) > max(l.limits.TTL, MinKeyTTL)
}

// evict drops the history of the rooms whose last message is oldest until
// the store is a tenth under its bound. Their positions stay.
func (s *MemoryStore) evict() {
	defer s.evicting.Store(false)
	type candidate struct {
		l    *memLog
		last time.Time
	}
	var found []candidate
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, l := range sh.logs {
			l.mu.Lock()
			if len(l.ring) > 0 {
				found = append(found, candidate{l, l.lastMsg})
			}
			l.mu.Unlock()
		}
		sh.mu.Unlock()
	}
	sort.Slice(found, func(i, j int) bool { return found[i].last.Before(found[j].last) })
	target := s.maxBytes - s.maxBytes/10
	for _, c := range found {
		if s.bytes.Load() <= target {
			return
		}
		c.l.mu.Lock()
		c.l.dropMessagesLocked()
		c.l.mu.Unlock()
	}
}

var _ Log = (*memLog)(nil)
