package hub

import (
	"time"

	"go.uber.org/zap"
)

// monoStart anchors monotonic time for the keepalive.
var monoStart = time.Now()

func monoNow() time.Duration { return time.Since(monoStart) }

// heard notes that the peer sent something.
func (c *Client) heard() {
	c.lastHeard.Store(int64(monoNow()))
}

// startKeepalive arms the timer that pings the peer every ping_interval
// and closes the connection once nothing was heard from it for
// ping_interval + pong_timeout. One timer does both, so that an idle
// connection waits on no goroutine.
func (c *Client) startKeepalive() {
	c.heard()
	if c.cfg.PingInterval <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	c.nextPing = monoNow() + c.cfg.PingInterval
	t := time.AfterFunc(time.Hour, c.keepalive)
	t.Stop()
	c.pinger = t
	t.Reset(c.cfg.PingInterval)
}

// stopKeepalive stops the timer; it is safe to call more than once.
func (c *Client) stopKeepalive() {
	c.mu.Lock()
	t := c.pinger
	c.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}

// noteIncomplete records since when the peer has had a frame or a
// fragmented message started and not finished; the keepalive bounds it.
func (c *Client) noteIncomplete(open bool) {
	since := c.incompleteSince.Load()
	switch {
	case open && since == 0:
		c.incompleteSince.Store(int64(monoNow()))
	case !open && since != 0:
		c.incompleteSince.Store(0)
	}
}

// keepalive runs on the timer: it closes a silent connection, and one
// that takes longer than ping_interval + pong_timeout to finish a message
// (a peer trickling one, which keeps it from looking silent); it pings
// when a ping is due, and rearms the timer for whichever comes next.
func (c *Client) keepalive() {
	cfg := c.cfg
	now := monoNow()
	deadline := time.Duration(c.lastHeard.Load()) + cfg.PingInterval + cfg.PongTimeout
	if now >= deadline {
		c.pongTimeout()
		return
	}
	if since := time.Duration(c.incompleteSince.Load()); since != 0 {
		slow := since + cfg.PingInterval + cfg.PongTimeout
		if now >= slow {
			c.messageTimeout()
			return
		}
		deadline = min(deadline, slow)
	}
	if now >= c.nextPing {
		if !c.send(newFrame(opPing, nil)) {
			return // closing
		}
		c.nextPing = now + cfg.PingInterval
	}
	c.pinger.Reset(min(c.nextPing, deadline) - now)
}

// messageTimeout closes a connection whose message takes too long.
func (c *Client) messageTimeout() {
	c.logAt(zap.WarnLevel, "closing: a message took too long to arrive",
		zap.Duration("limit", c.cfg.PingInterval+c.cfg.PongTimeout), zap.Strings("rooms", c.Rooms()))
	c.Close(ClosePolicy, "message too slow")
}

// pongTimeout closes a connection that fell silent.
func (c *Client) pongTimeout() {
	c.logAt(zap.WarnLevel, "closing: no pong in time", zap.Strings("rooms", c.Rooms()))
	c.Close(ClosePolicy, "pong timeout")
}
