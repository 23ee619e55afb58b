package main

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// progress prints one status line a second on stderr: the phase, the open
// connections and the last second's publish and receive rates.
type progress struct {
	phase atomic.Value // string
	done  chan struct{}
	once  sync.Once
}

func startProgress(cfg *config, s *stats, connected *atomic.Int64) *progress {
	p := &progress{done: make(chan struct{})}
	p.phase.Store("start")
	if cfg.quiet {
		return p
	}
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		start := time.Now()
		var lastPub, lastRecv uint64
		for {
			select {
			case <-p.done:
				return
			case now := <-t.C:
				pub, recv := s.publishedTotal.Load(), s.receivedTotal.Load()
				fmt.Fprintf(os.Stderr, "roomsbench %s %5.1fs %-7s conns=%d pub/s=%d recv/s=%d disconnects=%d\n",
					cfg.target.name, now.Sub(start).Seconds(), p.phase.Load(), connected.Load(),
					pub-lastPub, recv-lastRecv, s.disconnects.Load())
				lastPub, lastRecv = pub, recv
			}
		}
	}()
	return p
}

func (p *progress) setPhase(name string) { p.phase.Store(name) }

// stop ends the status lines; it may be called more than once.
func (p *progress) stop() { p.once.Do(func() { close(p.done) }) }
