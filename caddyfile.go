package caddyrooms

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("rooms", parseCaddyfile)
	// after the authentication handlers, so their placeholders are set;
	// before encode, handle and the responders, so that a top-level `rooms
	// /ws` takes its handshakes and passes every other request on
	httpcaddyfile.RegisterDirectiveOrder("rooms", httpcaddyfile.After, "forward_auth")
}

func parseCaddyfile(helper httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var h Handler
	err := h.UnmarshalCaddyfile(helper.Dispenser)
	return &h, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	rooms [<matcher>] {
//		room              <template>
//		protocol          json|raw
//		user              <template>
//		hub               <name>
//		origins           <origin...>
//		max_message_size  <size>
//		max_rooms         <n>
//		max_members       <n>
//		rate_limit        <per_second> [<burst>]
//		send_queue        <size>
//		slow_client       disconnect|drop_oldest
//		write_timeout     <duration>
//		ping_interval     <duration>
//		pong_timeout      <duration>
//		presence          on|off
//		history           <n> [<ttl>] | off
//		presence_list     <n>
//		presence_interval <duration>
//		max_errors        <n>
//		allow_join        <pattern...>
//		allow_publish     <pattern...>
//		read_only         <pattern...>
//		authorize         <url> {
//			timeout  <duration>
//			cache    <duration>
//			headers  <field...>
//		}
//	}
//
// Every option is optional; see the Handler fields for defaults.
// allow_join, allow_publish and read_only may repeat; their patterns add up.
// A room pattern's `*` matches any run of characters, `{user}` is the
// connection's identity and `{client}` its id, e.g.
// `allow_join user:{user}:* lobby`.
//
// Options that are wrong together, such as `protocol raw` with no `room`,
// fail here too, at the line of the option named in the error.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	directive := d.Token()
	if d.NextArg() {
		return d.ArgErr()
	}
	lines := make(map[string]caddyfile.Token) // each option's first line
	for d.NextBlock(0) {
		if _, seen := lines[d.Val()]; !seen {
			lines[d.Val()] = d.Token()
		}
		if err := h.unmarshalOption(d); err != nil {
			return err
		}
	}
	if opt, err := h.checkOptions(); err != nil {
		tok, ok := lines[opt]
		if !ok {
			tok = directive
		}
		return errAt(tok, err)
	}
	return nil
}

// errAt is err at tok's file and line, as the Dispenser's own errors are.
func errAt(tok caddyfile.Token, err error) error {
	d := caddyfile.NewDispenser([]caddyfile.Token{tok})
	d.Next()
	return d.WrapErr(err)
}

func (h *Handler) unmarshalOption(d *caddyfile.Dispenser) error {
	opt := d.Val()
	switch opt {
	case "room":
		return oneString(d, &h.Room)
	case "user":
		return oneString(d, &h.User)
	case "hub":
		return oneString(d, &h.Hub)
	case "protocol":
		return oneOf(d, &h.Protocol, "json", "raw")
	case "slow_client":
		return oneOf(d, &h.SlowClient, "disconnect", "drop_oldest")
	case "origins":
		h.Origins = d.RemainingArgs()
		if len(h.Origins) == 0 {
			return d.ArgErr()
		}
	case "max_message_size":
		return oneSize(d, &h.MaxMessageSize)
	case "max_rooms":
		return oneInt(d, &h.MaxRooms, 1)
	case "max_members":
		return oneInt(d, &h.MaxMembers, 0)
	case "send_queue":
		return sendQueueSize(d, &h.SendQueue)
	case "max_errors":
		return oneInt(d, &h.MaxErrors, -1)
	case "rate_limit":
		return h.unmarshalRate(d)
	case "write_timeout":
		return oneDuration(d, &h.WriteTimeout)
	case "ping_interval":
		return oneDuration(d, &h.PingInterval)
	case "pong_timeout":
		return oneDuration(d, &h.PongTimeout)
	case "presence_list":
		return oneInt(d, &h.PresenceList, 1)
	case "presence_interval":
		return oneDuration(d, &h.PresenceInterval)
	case "allow_join":
		return patterns(d, &h.AllowJoin)
	case "allow_publish":
		return patterns(d, &h.AllowPublish)
	case "read_only":
		return patterns(d, &h.ReadOnly)
	case "authorize":
		return h.unmarshalAuthorize(d)
	case "history":
		return h.unmarshalHistory(d)
	case "presence":
		var v string
		if err := oneOf(d, &v, "on", "off"); err != nil {
			return err
		}
		on := v == "on"
		h.Presence = &on
	default:
		return d.Errf("unrecognized rooms option %q", opt)
	}
	return nil
}

// unmarshalRate reads `rate_limit <per_second> [<burst>]`.
func (h *Handler) unmarshalRate(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return d.ArgErr()
	}
	v, err := strconv.ParseFloat(args[0], 64)
	if err != nil || v <= 0 {
		return d.Errf("rate_limit: %q is not a positive number of frames per second", args[0])
	}
	h.RateLimit = v
	if len(args) == 2 {
		b, err := strconv.Atoi(args[1])
		if err != nil || b < 1 {
			return d.Errf("rate_limit: burst %q is not a positive whole number", args[1])
		}
		h.RateBurst = b
	}
	return nil
}

// unmarshalAuthorize reads `authorize <url> { timeout; cache; headers }`.
func (h *Handler) unmarshalAuthorize(d *caddyfile.Dispenser) error {
	if h.Authorize != nil {
		return d.Err("authorize: given twice")
	}
	a := new(Authorize)
	if !d.NextArg() {
		return d.ArgErr()
	}
	a.URL = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	if !strings.Contains(a.URL, "{") { // placeholders are replaced when the config loads
		if _, err := a.checked(); err != nil {
			return d.WrapErr(err)
		}
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "timeout":
			if err := oneDuration(d, &a.Timeout); err != nil {
				return err
			}
		case "cache":
			if err := oneDuration(d, &a.Cache); err != nil {
				return err
			}
		case "headers":
			a.Headers = d.RemainingArgs()
			if len(a.Headers) == 0 {
				return d.ArgErr()
			}
		default:
			return d.Errf("unrecognized authorize option %q", opt)
		}
	}
	h.Authorize = a
	return nil
}

// patterns adds the remaining arguments, at least one room pattern, to dst.
func patterns(d *caddyfile.Dispenser, dst *[]string) error {
	opt := d.Val()
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	for _, a := range args {
		if _, err := parsePattern(a); err != nil {
			return d.Errf("%s: %v", opt, err)
		}
	}
	*dst = append(*dst, args...)
	return nil
}

func oneString(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

func oneOf(d *caddyfile.Dispenser, dst *string, allowed ...string) error {
	opt := d.Val()
	var v string
	if err := oneString(d, &v); err != nil {
		return err
	}
	for _, a := range allowed {
		if v == a {
			*dst = v
			return nil
		}
	}
	return d.Errf("%s: %q is not one of %v", opt, v, allowed)
}

func oneInt(d *caddyfile.Dispenser, dst *int, min int) error {
	opt := d.Val()
	var v string
	if err := oneString(d, &v); err != nil {
		return err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min {
		return d.Errf("%s: %q is not a whole number of at least %d", opt, v, min)
	}
	*dst = n
	return nil
}

func oneSize(d *caddyfile.Dispenser, dst *int64) error {
	opt := d.Val()
	var v string
	if err := oneString(d, &v); err != nil {
		return err
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n == 0 || n > 1<<40 {
		return d.Errf("%s: %q is not a size such as 64KiB", opt, v)
	}
	*dst = int64(n)
	return nil
}

// sendQueueSize reads send_queue's size. It counted frames before it
// counted bytes: a plain number is refused, so that an old `send_queue 256`
// is not taken for 256 bytes.
func sendQueueSize(d *caddyfile.Dispenser, dst *int) error {
	var v string
	if err := oneString(d, &v); err != nil {
		return err
	}
	if _, err := strconv.ParseUint(v, 10, 64); err == nil { // an old frame count
		return d.Errf("send_queue: %q has no unit: send_queue is a size in bytes, such as 1MiB (the default), no longer a count of frames", v)
	}
	n, err := humanize.ParseBytes(v)
	if err != nil || n == 0 || n > 1<<40 {
		return d.Errf("send_queue: %q is not a size such as 1MiB", v)
	}
	*dst = int(n)
	return nil
}

func oneDuration(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	opt := d.Val()
	var v string
	if err := oneString(d, &v); err != nil {
		return err
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil || dur <= 0 {
		return d.Errf("%s: %q is not a positive duration such as 30s", opt, v)
	}
	*dst = caddy.Duration(dur)
	return nil
}

var _ caddyfile.Unmarshaler = (*Handler)(nil)
