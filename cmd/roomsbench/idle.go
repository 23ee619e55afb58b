package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// runIdle is the idle mode: read the server's RSS, connect and join every
// client, let the server settle for -warmup, read the RSS again and report
// the growth per connection. Every client reads (presence frames and
// Socket.IO pings must not pile up) but nobody publishes.
func runIdle(ctx context.Context, cfg *config) (*result, error) {
	s := newStats(cfg.rooms)
	var connected atomic.Int64
	prog := startProgress(cfg, s, &connected)
	defer prog.stop()

	before, err := readUsage(cfg.pid)
	if err != nil {
		return nil, fmt.Errorf("-pid %d: %w", cfg.pid, err)
	}
	prog.setPhase("connect")
	recv, err := newReceiver(cfg, s)
	if err != nil {
		return nil, err
	}
	connectStart := time.Now()
	clients, cs := connectAll(ctx, cfg, &connected, func(cl *client) error {
		if cl.slow {
			return nil
		}
		if cfg.reader == "gorilla" {
			go s.readLoop(cfg, cl)
			return nil
		}
		return recv.add(cl)
	})
	connectTime := time.Since(connectStart)
	defer func() {
		s.closing.Store(true)
		recv.close()
		closeAll(clients)
	}()
	if cs.connected == 0 {
		return nil, fmt.Errorf("no client connected: %s", cs.firstErr)
	}
	prog.setPhase("settle")
	if !sleepUntil(ctx, time.Now().Add(cfg.warmup)) {
		return nil, ctx.Err()
	}
	after, err := readUsage(cfg.pid)
	if err != nil {
		return nil, fmt.Errorf("-pid %d: %w", cfg.pid, err)
	}
	prog.stop()

	res := newResult(cfg, "idle")
	res.Connected, res.ConnectErrors, res.FirstConnectError = cs.connected, cs.failed, cs.firstErr
	res.ConnectSeconds = connectTime.Seconds()
	res.Disconnects = s.disconnects.Load()
	res.FirstError = s.firstErr
	res.ServerRSSBeforeBytes = before.RSSBytes
	res.ServerRSSBytes = after.RSSBytes
	res.ServerProcesses = after.Processes
	res.RSSPerConnBytes = float64(after.RSSBytes-before.RSSBytes) / float64(cs.connected)
	return res, nil
}
