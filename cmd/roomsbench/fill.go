package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// runFill is the fill mode: connect and join every client, each reading
// from the moment it is in its room, wait until the server has been quiet
// for -warmup, and report how long the joins took, how long until the
// server's last frame of the fill arrived (its presence included), and how
// many frames without a payload (presence and the like) the clients got
// after their own join.
func runFill(ctx context.Context, cfg *config) (*result, error) {
	s := newStats(cfg.rooms)
	var connected atomic.Int64
	prog := startProgress(cfg, s, &connected)
	defer prog.stop()

	var before procUsage
	if cfg.pid > 0 {
		var err error
		if before, err = readUsage(cfg.pid); err != nil {
			return nil, fmt.Errorf("-pid %d: %w", cfg.pid, err)
		}
	}
	prog.setPhase("fill")
	recv, err := newReceiver(cfg, s)
	if err != nil {
		return nil, err
	}
	clientBefore, busyBefore, start := selfCPUSeconds(), machineBusy(), time.Now()
	clients, cs := connectAll(ctx, cfg, &connected, func(cl *client) error {
		if cfg.reader == "gorilla" {
			go s.readLoop(cfg, cl)
			return nil
		}
		return recv.add(cl)
	})
	joined := time.Now()
	defer func() {
		s.closing.Store(true)
		recv.close()
		closeAll(clients)
	}()
	if cs.connected == 0 {
		return nil, fmt.Errorf("no client connected: %s", cs.firstErr)
	}
	prog.setPhase("settle")
	last := waitQuiet(ctx, s, joined, cfg.warmup)
	clientCPU, busy, wall := selfCPUSeconds()-clientBefore, machineBusy()-busyBefore, time.Since(start).Seconds()
	prog.stop()

	res := newResult(cfg, "fill")
	res.Connected, res.ConnectErrors, res.FirstConnectError = cs.connected, cs.failed, cs.firstErr
	res.ConnectSeconds = joined.Sub(start).Seconds()
	res.SettledSeconds = last.Sub(start).Seconds()
	res.ServerFrames = s.controlTotal.Load()
	res.FramesPerClient = float64(res.ServerFrames) / float64(cs.connected)
	res.Disconnects = s.disconnects.Load()
	res.FirstError = s.firstErr
	if cfg.pid > 0 {
		after, err := readUsage(cfg.pid)
		if err != nil {
			return nil, fmt.Errorf("-pid %d: %w", cfg.pid, err)
		}
		res.fillUsage(before, after)
	}
	res.ClientCPUShare = clientCPU / wall
	// with no -pid, the server's CPU counts as the others'
	res.OtherCPUShare = max(busy-clientCPU-res.ServerCPUSeconds, 0) / wall
	return res, nil
}

// machineBusy is machineBusySeconds, 0 when /proc/stat cannot be read.
func machineBusy() float64 {
	b, _ := machineBusySeconds()
	return b
}

// waitQuiet waits until no frame without a payload has arrived for quiet,
// and returns when the last one arrived (from, when none came after it).
func waitQuiet(ctx context.Context, s *stats, from time.Time, quiet time.Duration) time.Time {
	for {
		last := from
		if n := s.lastControl.Load(); n > from.UnixNano() {
			last = time.Unix(0, n)
		}
		wait := quiet - time.Since(last)
		if wait <= 0 || ctx.Err() != nil {
			return last
		}
		time.Sleep(min(wait, 50*time.Millisecond))
	}
}
