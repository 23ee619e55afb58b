package hub

import (
	"net"
	"time"

	"go.uber.org/zap"
)

// Conn is what Serve needs of an accepted connection.
type Conn struct {
	Net        net.Conn // the connection after the WebSocket handshake
	ID         string   // optional; a random id when empty
	User       string   // optional identity
	RemoteAddr string
	Room       string // optional room to join before `welcome`
	// Since resumes Room from that position, as a join's "since" does;
	// Last asks for Room's recent messages, as a join's "last" does.
	Since *Position
	Last  int
	Meta  any // optional; becomes Client.Meta, for the route's Authorizer
}

// Serve serves one upgraded connection with cfg: Admit, then Start. It
// returns an error when the connection was refused before it was served
// (for example the path room refused it); the connection is closed either
// way.
//
// A TCP or Unix socket, or TLS over TCP, is read by the hub's poller (on
// Linux): Serve returns once the connection is set up, and no goroutine
// waits on the connection while it is idle. Any other connection (an
// HTTP/2 or HTTP/3 stream, a wrapped socket) is read on the calling
// goroutine, and Serve returns when it closes.
func (h *Hub) Serve(cn Conn, cfg *Config) error {
	c, err := h.Admit(cn, cfg)
	if c == nil {
		_, _ = cn.Net.Write(closeFrame(CloseGoingAway, "server stopping").b)
		_ = cn.Net.Close()
		return err
	}
	h.Start(c, cn.Net)
	return err
}

// Admit makes a connection a client before its handshake is answered: it
// is registered and in the route's room (cn.Room), with its `welcome` and
// `joined` queued, so that nothing published after the peer has seen the
// answer can miss it. cn.Net is not used: frames wait until Start attaches
// the upgraded connection, within the send queue's budget.
//
// When the route's room refuses the connection, the client returned is
// closing already (Start sends it the error frame and closes it with
// 1008, or 4003 when it is refused for good) and the error says why. When the hub is closed, Admit returns a
// nil client and errClosing.
func (h *Hub) Admit(cn Conn, cfg *Config) (*Client, error) {
	if h.closed.Load() {
		return nil, errClosing
	}
	h.wg.Add(1)
	c := newClient(h, cfg, nil, cn.ID, cn.User, cn.RemoteAddr)
	c.Meta = cn.Meta
	h.addClient(c)
	h.obs.Connected()
	c.logAt(zap.DebugLevel, "connected", zap.String("user", c.User), zap.String("room", cn.Room))

	c.sendJSON(welcomeFrame(c.ID, c.User))
	if cn.Room != "" {
		if err := h.joinWith(c, joinRequest{room: cn.Room, since: cn.Since, last: cn.Last}); err != nil {
			c.sendError(err, "")
			c.Close(refusedRoomCloseCode(err), "cannot join "+cn.Room)
			c.logAt(zap.WarnLevel, "refused the route's room", zap.String("room", cn.Room), zap.Error(err))
			return c, err
		}
	}
	return c, nil
}

// Start serves an admitted client on conn, its upgraded connection: what
// was queued since Admit is written first. See Serve for who reads conn.
func (h *Hub) Start(c *Client, conn net.Conn) {
	c.mu.Lock()
	c.conn = conn
	if len(c.queue) > 0 || c.final != nil || c.dropped > 0 {
		c.startWriterLocked()
	}
	closing := c.closing
	c.mu.Unlock()
	if closing { // the route's room refused it, or the hub closed meanwhile
		h.disconnect(c)
		return
	}
	c.startKeepalive()
	r := newReader(c)
	if !h.noPoll && pollConn(c, r) {
		return
	}
	r.run(conn)
	h.disconnect(c)
}

// Abandon forgets an admitted client whose handshake failed: it leaves
// its rooms, and nothing is written.
func (h *Hub) Abandon(c *Client) {
	defer h.wg.Done()
	c.closeWith(CloseGoingAway, nil, true)
	h.leaveAll(c)
	h.removeClient(c)
	h.obs.Disconnected()
	c.logAt(zap.DebugLevel, "handshake failed after admission", zap.Strings("rooms", c.roomsLeft()))
}

// disconnect takes c out of its rooms, lets the writer finish its close
// frame, drains what the peer still sends, and closes the connection.
func (h *Hub) disconnect(c *Client) {
	defer h.wg.Done()
	c.stopKeepalive()
	h.leaveAll(c)
	h.removeClient(c)
	h.obs.Disconnected()
	c.Close(CloseNormal, "")
	select {
	case <-c.done:
	case <-time.After(c.cfg.WriteTimeout):
	}
	drain(c.conn)
	_ = c.conn.Close()
	c.logAt(zap.DebugLevel, "disconnected", zap.Strings("rooms", c.roomsLeft()), zap.Int("close_code", c.closeCode))
}

// drain reads what the peer still sends, briefly, so that closing the
// socket does not reset it before the peer has read our close frame.
func drain(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(closeGrace))
	buf := make([]byte, 4096)
	for i := 0; i < 256; i++ {
		if _, err := conn.Read(buf); err != nil {
			return
		}
	}
}
