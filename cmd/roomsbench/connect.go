package main

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// slowRecvBuffer is the SO_RCVBUF of a slow consumer: small, so its kernel
// buffers fill within seconds and the server has to deal with it.
const slowRecvBuffer = 4096

// A client is one connection of the run. Client i is in room i mod rooms;
// the last -slow clients are slow consumers.
type client struct {
	index int
	room  int
	slow  bool
	conn  *wsConn // nil when the connect failed
	rc    *rconn  // its socket in the epoll receiver, once handed over

	lastCounter int // the last payload counter received (receiver only)
}

// roomName returns the name of room r.
func roomName(cfg *config, r int) string { return fmt.Sprintf("%s%d", cfg.roomPrefix, r) }

// connectStats counts the outcome of connectAll.
type connectStats struct {
	connected int
	failed    int
	firstErr  string
}

// connectAll connects and joins every client, cfg.dialers at a time, and
// calls onJoined (from the dialing goroutine) for each client that made it
// into its room, so its reading can start at once: a client that does not
// read while thousands of others join would fill up with presence frames.
// A client for which onJoined fails counts as failed.
func connectAll(ctx context.Context, cfg *config, progress *atomic.Int64, onJoined func(*client) error) ([]*client, connectStats) {
	clients := make([]*client, cfg.clients)
	for i := range clients {
		clients[i] = &client{index: i, room: i % cfg.rooms, slow: i >= cfg.clients-cfg.slow}
	}
	var (
		mu    sync.Mutex
		stats connectStats
		wg    sync.WaitGroup
		next  atomic.Int64
	)
	for w := 0; w < cfg.dialers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(clients) || ctx.Err() != nil {
					return
				}
				cl := clients[i]
				err := connectOne(ctx, cfg, cl)
				if err == nil {
					if err = onJoined(cl); err != nil {
						cl.conn.close()
						cl.conn = nil
					}
				}
				mu.Lock()
				if err != nil {
					stats.failed++
					if stats.firstErr == "" {
						stats.firstErr = err.Error()
					}
				} else {
					stats.connected++
				}
				mu.Unlock()
				if err == nil {
					progress.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return clients, stats
}

// connectOne dials one client and gets it into its room.
func connectOne(ctx context.Context, cfg *config, cl *client) error {
	room := roomName(cfg, cl.room)
	opt := dialOptions{timeout: cfg.dialTimeout}
	if cl.slow {
		opt.recvBuffer = slowRecvBuffer
	}
	path := cfg.target.path(room)
	if cfg.pathPrefix != "" {
		path = cfg.pathPrefix + room
	}
	c, err := dial(ctx, cfg.clientURL(cl)+path, opt)
	if err != nil {
		return err
	}
	if err := cfg.target.join(c, room, cfg.dialTimeout); err != nil {
		c.close()
		return err
	}
	if cl.slow || cfg.reader == "gorilla" {
		c.rc.stopRecording()
	}
	cl.conn = c
	return nil
}

// slowClosedByServer reads what the slow consumers were sent, all at once,
// for at most limit, and counts those whose connection the server had
// closed (a close frame or the end of the stream shows up behind the
// backlog). Run it after the measurement: it makes the slow clients fast.
func slowClosedByServer(clients []*client, limit time.Duration) int {
	var closed atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(limit)
	for _, cl := range clients {
		if !cl.slow || cl.conn == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl.conn.ws.SetReadDeadline(deadline)
			for {
				_, err := cl.conn.readFrame()
				if err == nil {
					continue
				}
				if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
					closed.Add(1)
				}
				return
			}
		}()
	}
	wg.Wait()
	return int(closed.Load())
}

// closeAll drops every open connection.
func closeAll(clients []*client) {
	for _, cl := range clients {
		if cl.conn != nil {
			cl.conn.close()
		}
	}
}
