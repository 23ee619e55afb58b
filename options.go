package caddyrooms

import (
	"fmt"
	"slices"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/caddyrooms/caddyrooms/hub"
)

// minMaxMessageSize is the smallest max_message_size: room for a join or a
// publish frame with a short room name and data.
const minMaxMessageSize = 128

// minSendQueue is the smallest send_queue, in bytes. It counted frames
// before, up to a few thousand: a value under it is an old count, refused
// with a message that says so.
const minSendQueue = 4 << 10

// checkOptions finds the first option that is wrong, alone or with the
// others, and names it: Validate checks a JSON config with it, and
// UnmarshalCaddyfile a Caddyfile, at that option's line.
func (h *Handler) checkOptions() (opt string, err error) {
	for _, c := range []struct {
		opt string
		bad bool
		msg string
	}{
		{"protocol", !slices.Contains([]string{"", "json", "raw"}, h.Protocol), fmt.Sprintf("protocol %q: must be json or raw", h.Protocol)},
		{"protocol", h.Protocol == "raw" && h.Room == "", "protocol raw needs a room"},
		{"slow_client", !slices.Contains([]string{"", "disconnect", "drop_oldest"}, h.SlowClient), fmt.Sprintf("slow_client %q: must be disconnect or drop_oldest", h.SlowClient)},
		{"max_message_size", h.MaxMessageSize < 0, "max_message_size must not be negative"},
		{"max_message_size", h.MaxMessageSize > 0 && h.MaxMessageSize < minMaxMessageSize,
			fmt.Sprintf("max_message_size %s is too small: at least %d B", humanize.IBytes(uint64(max(h.MaxMessageSize, 0))), minMaxMessageSize)},
		{"max_rooms", h.MaxRooms < 0, "max_rooms must not be negative"},
		{"max_members", h.MaxMembers < 0, "max_members must not be negative"},
		{"send_queue", h.SendQueue < 0, "send_queue must not be negative"},
		{"send_queue", h.SendQueue > 0 && h.SendQueue < minSendQueue,
			fmt.Sprintf("send_queue %d B is too small: at least 4 KiB; it is a size in bytes (default 1 MiB), no longer a count of frames", h.SendQueue)},
		{"rate_limit", h.RateLimit < 0 || h.RateBurst < 0, "rate_limit and its burst must not be negative"},
		{"write_timeout", h.WriteTimeout < 0, "write_timeout must not be negative"},
		{"ping_interval", h.PingInterval < 0, "ping_interval must not be negative"},
		{"pong_timeout", h.PongTimeout < 0, "pong_timeout must not be negative"},
		{"history", h.HistorySize < -1, fmt.Sprintf("history_size %d: at least 0, or -1 for off", h.HistorySize)},
		{"history", h.HistoryTTL < 0, "history_ttl must not be negative"},
		{"presence_list", h.PresenceList < 0, "presence_list must not be negative"},
		{"presence_interval", h.PresenceInterval < 0, "presence_interval must not be negative"},
	} {
		if c.bad {
			return c.opt, fmt.Errorf("rooms: %s", c.msg)
		}
	}
	for _, l := range []struct {
		opt  string
		list []string
	}{{"allow_join", h.AllowJoin}, {"allow_publish", h.AllowPublish}, {"read_only", h.ReadOnly}} {
		for _, s := range l.list {
			if _, err := parsePattern(s); err != nil {
				return l.opt, fmt.Errorf("rooms: %s: %w", l.opt, err)
			}
		}
	}
	return "", nil
}

// hubConfig converts the options, checked before, into the hub's
// connection settings with their defaults; the authorizer is built apart
// (newRoomAuth).
func (h *Handler) hubConfig() *hub.Config {
	cfg := hub.Config{
		MaxMessageSize: h.MaxMessageSize,
		MaxRooms:       h.MaxRooms,
		MaxMembers:     h.MaxMembers,
		RateLimit:      h.RateLimit,
		RateBurst:      h.RateBurst,
		SendQueue:      h.SendQueue,
		WriteTimeout:   time.Duration(h.WriteTimeout),
		PingInterval:   time.Duration(h.PingInterval),
		PongTimeout:    time.Duration(h.PongTimeout),
		NoPresence:     h.Presence != nil && !*h.Presence,
		MaxErrors:      h.MaxErrors,
		HistorySize:    h.HistorySize,
		HistoryTTL:     time.Duration(h.HistoryTTL),
	}
	cfg.PresenceList, cfg.PresenceInterval = h.PresenceList, time.Duration(h.PresenceInterval)
	if h.Protocol == "raw" {
		cfg.Protocol = hub.Raw
	}
	if h.SlowClient == "drop_oldest" {
		cfg.SlowClient = hub.DropOldest
	}
	cfg = cfg.WithDefaults()
	return &cfg
}
