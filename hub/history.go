package hub

import "time"

// The seam between the hub and where a room's numbering and recent messages
// are kept. The hub asks a Store for each room's Log when the room gets its
// first member, and asks that Log for the room's position (epoch and seq),
// to keep each message it publishes, for the messages after a seq (a
// resume, a late joiner, the admin API) and for the publish keys it has
// seen. NewMemoryStore is the default; a store shared by several processes
// (a cluster broker) can take its place through Options.Store.

// Position is exactly where a room's numbering stands: its epoch, which
// changes whenever numbering starts over, and the seq of its last message.
type Position struct {
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

// Entry is one message: its seq and its json-protocol `message` frame,
// the very frame queued for the room's members. Frame is nil when the
// room keeps no history (its limits' Size is 0).
type Entry struct {
	Seq   uint64
	Frame *Frame
}

// Receipt is what a publish answered: its seq and how many members it was
// queued for. A repeat of a keyed publish gets the same receipt.
type Receipt struct {
	Seq       uint64
	Delivered int
}

// HistoryLimits is what a room keeps: at most Size messages (0 keeps none),
// each until TTL after the room's last message; its position and publish
// keys stay at least TTL (and at least MinKeyTTL) after its last member
// leaves or its last message, whichever is later.
type HistoryLimits struct {
	Size int
	TTL  time.Duration
}

// MinKeyTTL is the shortest time a room remembers a publish key.
const MinKeyTTL = time.Minute

// Store keeps the Log of every room, also of rooms that have no members
// for now.
type Store interface {
	// Open returns the log of the room called name and counts one user of
	// it; a room with no kept log gets a new one: a new epoch, seq 0, and
	// limits. The hub opens a room's log when the room gets its first
	// member.
	Open(name string, limits HistoryLimits) Log
	// Lookup returns the kept log of the room called name without opening
	// it, or nil; for reads of rooms that have no members.
	Lookup(name string) Log
}

// Log is one room's numbering, recent messages and publish keys. The hub
// calls Position, Append, Receipt and Remember only under the room's lock:
// for one room they never overlap, and Append comes in seq order. Since
// may be called at any time, from any goroutine.
type Log interface {
	// Position is the room's epoch and the seq of its last message.
	Position() Position
	// Append keeps the message e, numbered the last seq + 1.
	Append(e Entry)
	// Since returns the kept messages after seq, oldest first, at most
	// limit of them (0 is no limit), and the room's position. complete is
	// false when a message after seq is no longer kept (nor then any
	// entry): a resume from seq must not be answered with a partial replay.
	Since(seq uint64, limit int) (entries []Entry, pos Position, complete bool)
	// Receipt returns what the publish with key answered, if the room has
	// seen that key.
	Receipt(key string) (Receipt, bool)
	// Remember records the receipt of the publish with key.
	Remember(key string, r Receipt)
	// Close tells the log that a user (as counted by Open) is done with
	// it: the room is empty. A log nobody uses expires after its limits.
	Close()
}
