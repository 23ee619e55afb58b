package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// runLoad is the load mode: connect, warm up, measure, drain, report.
func runLoad(ctx context.Context, cfg *config) (*result, error) {
	s := newStats(cfg.rooms)
	var connected atomic.Int64
	prog := startProgress(cfg, s, &connected)
	defer prog.stop()

	prog.setPhase("connect")
	recv, err := newReceiver(cfg, s)
	if err != nil {
		return nil, err
	}
	connectStart := time.Now()
	clients, cs := connectAll(ctx, cfg, &connected, func(cl *client) error {
		if cl.slow {
			return nil // a slow consumer never reads
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
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if cs.connected == 0 {
		return nil, fmt.Errorf("no client connected: %s", cs.firstErr)
	}

	// Fix the window before the first publish.
	begin := time.Now().Add(50 * time.Millisecond)
	s.start.Store(begin.Add(cfg.warmup).UnixNano())
	s.end.Store(s.start.Load() + int64(cfg.duration))

	var before, after procUsage
	var usageErr error
	if cfg.pid != 0 {
		if _, usageErr = readUsage(cfg.pid); usageErr != nil {
			return nil, fmt.Errorf("-pid %d: %w", cfg.pid, usageErr)
		}
	}

	var pubs sync.WaitGroup
	publishers := 0
	for r := 0; r < cfg.rooms; r++ {
		pub := pickPublisher(clients, r)
		if pub == nil {
			continue // nobody of this room connected
		}
		publishers++
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			s.publish(ctx, cfg, pub, begin)
		}()
	}

	prog.setPhase("warmup")
	if !sleepUntil(ctx, time.Unix(0, s.start.Load())) {
		return nil, ctx.Err()
	}
	if cfg.pid != 0 {
		before, _ = readUsage(cfg.pid)
	}
	clientBefore, measureStart := selfCPUSeconds(), time.Now()
	busyBefore, _ := machineBusySeconds()
	recvBefore := s.receivedTotal.Load()
	prog.setPhase("measure")
	if !sleepUntil(ctx, time.Unix(0, s.end.Load())) {
		return nil, ctx.Err()
	}
	prog.setPhase("drain")
	drained := drain(ctx, s, cfg.drain)
	clientCPU := selfCPUSeconds() - clientBefore
	clientWall := time.Since(measureStart).Seconds()
	busyAfter, _ := machineBusySeconds()
	if cfg.pid != 0 {
		after, usageErr = readUsage(cfg.pid)
	}
	prog.stop()
	s.closing.Store(true)
	pubWait(&pubs, time.Second) // publishers stop at the window's end unless stuck in a write

	res := newResult(cfg, "load")
	res.Connected, res.ConnectErrors, res.FirstConnectError = cs.connected, cs.failed, cs.firstErr
	res.ConnectSeconds = connectTime.Seconds()
	res.Publishers = publishers
	res.fillLoad(s, cfg, drained)
	if cfg.slow > 0 {
		res.SlowClosed = slowClosedByServer(clients, 2*time.Second)
	}
	res.ClientCPUShare = clientCPU / clientWall
	res.ClientCPUPerMillion = cpuPerMillion(clientCPU, s.receivedTotal.Load()-recvBefore)
	if cfg.pid != 0 && usageErr == nil {
		res.fillUsage(before, after)
	}
	// Steal is counted as busy too: on a shared host it competes just the same.
	other := busyAfter - busyBefore - clientCPU - res.ServerCPUSeconds
	res.OtherCPUShare = max(other, 0) / clientWall
	return res, nil
}

// pickPublisher returns the first connected fast client of room r.
func pickPublisher(clients []*client, r int) *client {
	for _, cl := range clients {
		if cl.room == r && !cl.slow && cl.conn != nil {
			return cl
		}
	}
	return nil
}

// drain waits for the deliveries still owed after the window closed: until
// all arrived, nothing arrived for a second, or limit passed. It returns how
// long it waited.
func drain(ctx context.Context, s *stats, limit time.Duration) time.Duration {
	start := time.Now()
	last, lastChange := s.delivered.Load(), start
	for {
		d := s.delivered.Load()
		now := time.Now()
		if d >= s.expected.Load() || now.Sub(start) >= limit || now.Sub(lastChange) >= time.Second || ctx.Err() != nil {
			return now.Sub(start)
		}
		if d != last {
			last, lastChange = d, now
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sleepUntil sleeps until t or until ctx is done; it reports whether t came.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// pubWait waits for wg at most limit.
func pubWait(wg *sync.WaitGroup, limit time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
	}
}
