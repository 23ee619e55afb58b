package hub

import (
	"time"
)

// SlowClientPolicy says what happens when a frame would take a
// connection's send queue over its budget (Config.SendQueue, in bytes).
type SlowClientPolicy int

const (
	// Disconnect closes a connection whose send queue is over its budget,
	// with close code 1008 and the reason "send queue full".
	Disconnect SlowClientPolicy = iota
	// DropOldest drops the oldest queued frames to make room, and tells the
	// client how many it lost with an `error` frame of code
	// "messages_dropped" (json protocol).
	DropOldest
)

// Defaults of Config's limits.
const (
	DefaultMaxMessageSize = 64 << 10
	DefaultMaxRooms       = 100
	DefaultSendQueue      = 1 << 20 // bytes: 1 MiB
	DefaultWriteTimeout   = 10 * time.Second
	DefaultPingInterval   = 30 * time.Second
	DefaultPongTimeout    = 10 * time.Second
	DefaultMaxErrors      = 20
	DefaultHistorySize    = 100
	DefaultHistoryTTL     = 5 * time.Minute
	// DefaultPresenceList is the largest room whose members `joined`
	// lists and that sends a `presence` frame per join and leave.
	DefaultPresenceList = 100
	// DefaultPresenceInterval is the shortest time between two
	// `presence_diff` frames of a larger room.
	DefaultPresenceInterval = time.Second
)

// Authorizer decides whether a connection may join or publish in a room.
// A nil error allows; an *Error refuses with its code and message.
type Authorizer interface {
	AllowJoin(c *Client, room string) error
	AllowPublish(c *Client, room string) error
}

// Config is how one route's connections behave. The zero value of a field
// means its default (see the Default constants), except where noted.
type Config struct {
	Protocol       Protocol
	MaxMessageSize int64   // bytes per inbound message, its fragments together
	MaxRooms       int     // rooms per connection
	MaxMembers     int     // members per room; 0 is no limit
	RateLimit      float64 // inbound frames per second; 0 is no limit
	RateBurst      int     // frames allowed at once above RateLimit; default max(1, RateLimit)
	SendQueue      int     // bytes queued per connection, the batch being written included
	SlowClient     SlowClientPolicy
	WriteTimeout   time.Duration
	PingInterval   time.Duration // negative disables pings
	PongTimeout    time.Duration
	NoPresence     bool // true turns presence events off
	MaxErrors      int  // consecutive error replies before closing with 4008; negative: never
	Authorizer     Authorizer
	// HistorySize is how many recent messages a room keeps for resumes and
	// late joiners; negative keeps none (history off), though the room's
	// epoch, seq and publish keys still outlive its members for MinKeyTTL.
	HistorySize int
	// HistoryTTL is how long a room keeps its messages after its last one,
	// and its epoch and seq after its last member leaves; with history off,
	// MinKeyTTL.
	HistoryTTL time.Duration

	// PresenceList is the largest room whose members `joined` lists; such
	// rooms send a `presence` frame per join and leave, larger ones
	// batch them in `presence_diff` frames. A room follows the value of
	// its latest joiner's route.
	PresenceList int
	// PresenceInterval is the shortest time between two presence_diff
	// frames of a room.
	PresenceInterval time.Duration
}

// historyLimits are the limits of a room this route's connection creates.
func (c *Config) historyLimits() HistoryLimits {
	if c.HistorySize < 0 {
		return HistoryLimits{TTL: MinKeyTTL} // numbering and keys only
	}
	return HistoryLimits{Size: c.HistorySize, TTL: c.HistoryTTL}
}

// WithDefaults returns a copy of c with every zero limit set to its default.
func (c Config) WithDefaults() Config {
	setDefault(&c.MaxMessageSize, DefaultMaxMessageSize)
	setDefault(&c.MaxRooms, DefaultMaxRooms)
	setDefault(&c.SendQueue, DefaultSendQueue)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.PingInterval, DefaultPingInterval)
	setDefault(&c.PongTimeout, DefaultPongTimeout)
	setDefault(&c.MaxErrors, DefaultMaxErrors)
	setDefault(&c.HistorySize, DefaultHistorySize)
	setDefault(&c.HistoryTTL, DefaultHistoryTTL)
	setDefault(&c.PresenceList, DefaultPresenceList)
	setDefault(&c.PresenceInterval, DefaultPresenceInterval)
	if c.RateLimit > 0 && c.RateBurst <= 0 {
		c.RateBurst = max(1, int(c.RateLimit))
	}
	return c
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
