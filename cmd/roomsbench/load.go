package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
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

	if cfg.pid != 0 {
		if _, err := readUsage(cfg.pid); err != nil {
			return nil, fmt.Errorf("-pid %d: %w", cfg.pid, err)
		}
	}

	publishers, w, err := runWindow(ctx, cfg, s, recv, clients, begin, prog)
	if err != nil {
		return nil, err
	}

	res := newResult(cfg, "load")
	res.Connected, res.ConnectErrors, res.FirstConnectError = cs.connected, cs.failed, cs.firstErr
	res.ConnectSeconds = connectTime.Seconds()
	res.Publishers = publishers
	res.fillLoad(s, cfg, w.drained)
	if cfg.slow > 0 {
		res.SlowClosed = slowClosedByServer(clients, 2*time.Second)
	}
	res.fillWindow(s, cfg, w)
	if cfg.reader != "gorilla" {
		res.fillLoop(&recv.self, w.clientGCs)
	}
	return res, nil
}

// runWindow starts the publishers, measures the window and the drain, and
// stops the publishing. It returns how many publishers ran.
func runWindow(ctx context.Context, cfg *config, s *stats, recv *receiver, clients []*client, begin time.Time, prog *progress) (int, loadWindow, error) {
	// The client's own collections would stall the loop: its hot path does
	// not allocate, and what the rest allocates in one run is small, so
	// the collector rests from the first publish to the end of the drain
	// (a run reports any that still happened).
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	var pubs sync.WaitGroup
	var publishers int
	if cfg.reader == "gorilla" {
		publishers = startPublishers(ctx, cfg, s, clients, begin, &pubs)
	} else {
		lp := loopPublishers(cfg, s, clients, begin)
		publishers = len(lp)
		recv.startBusy(lp)
	}
	gcBefore := gcCycles()
	w, err := measureWindow(ctx, cfg, s, prog)
	if err != nil {
		return 0, w, err
	}
	s.closing.Store(true)
	pubWait(&pubs, time.Second) // publishers stop at the window's end unless stuck in a write
	w.clientGCs = gcCycles() - gcBefore
	return publishers, w, nil
}

// loopPublishers makes the busy loop's publisher of each room with a
// connected fast client.
func loopPublishers(cfg *config, s *stats, clients []*client, begin time.Time) []*loopPublisher {
	var pubs []*loopPublisher
	for r := 0; r < cfg.rooms; r++ {
		if cl := pickPublisher(clients, r); cl != nil && cl.rc != nil {
			pubs = append(pubs, newLoopPublisher(cfg, s, cl, cl.rc, begin))
		}
	}
	return pubs
}

// fillWindow records the CPU that the window took, of this process, the
// server (with -pid) and the rest of the machine.
func (r *result) fillWindow(s *stats, cfg *config, w loadWindow) {
	r.ClientCPUShare = w.clientCPU / w.clientWall
	r.ClientCPUPerMillion = cpuPerMillion(w.clientCPU, s.receivedTotal.Load()-w.recvBefore)
	if cfg.pid != 0 && w.usageErr == nil {
		r.fillUsage(w.before, w.after)
	}
	// Steal is counted as busy too: on a shared host it competes just the same.
	other := w.busy - w.clientCPU - r.ServerCPUSeconds
	r.OtherCPUShare = max(other, 0) / w.clientWall
}

// startPublishers starts one publisher for each room with a connected
// fast client, counted in pubs; it returns how many it started.
func startPublishers(ctx context.Context, cfg *config, s *stats, clients []*client, begin time.Time, pubs *sync.WaitGroup) int {
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
	return publishers
}

// loadWindow is what runLoad measures from the end of the warmup to the
// end of the drain.
type loadWindow struct {
	before, after procUsage // the server's, with -pid
	usageErr      error     // reading after
	clientCPU     float64   // this process's CPU seconds
	clientWall    float64   // seconds
	busy          float64   // the machine's busy CPU seconds
	recvBefore    uint64    // payloads received before the window
	clientGCs     uint64    // garbage collections of this process
	drained       time.Duration
}

// readingLead is how long before the window the usage readings start.
const readingLead = 50 * time.Millisecond

// measureWindow waits out the warmup, then measures until the window's end
// and the drain; it stops the progress display.
func measureWindow(ctx context.Context, cfg *config, s *stats, prog *progress) (loadWindow, error) {
	var w loadWindow
	prog.setPhase("warmup")
	// The readings take a few milliseconds of the client's processor (the
	// server's children are found by reading every /proc/PID/stat): done
	// just before the window, they stall none of its deliveries.
	if !sleepUntil(ctx, time.Unix(0, s.start.Load()-int64(readingLead))) {
		return w, ctx.Err()
	}
	if cfg.pid != 0 {
		w.before, _ = readUsage(cfg.pid)
	}
	clientBefore, measureStart := selfCPUSeconds(), time.Now()
	busyBefore, _ := machineBusySeconds()
	if !sleepUntil(ctx, time.Unix(0, s.start.Load())) {
		return w, ctx.Err()
	}
	w.recvBefore = s.receivedTotal.Load()
	prog.setPhase("measure")
	if !sleepUntil(ctx, time.Unix(0, s.end.Load())) {
		return w, ctx.Err()
	}
	prog.setPhase("drain")
	w.drained = drain(ctx, s, cfg.drain)
	w.clientCPU = selfCPUSeconds() - clientBefore
	w.clientWall = time.Since(measureStart).Seconds()
	busyAfter, _ := machineBusySeconds()
	w.busy = busyAfter - busyBefore
	if cfg.pid != 0 {
		w.after, w.usageErr = readUsage(cfg.pid)
	}
	prog.stop()
	return w, nil
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
