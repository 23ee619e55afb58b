package main

import (
	"sync"
	"sync/atomic"
	"time"
)

// stats is the state every goroutine of a run shares. Payloads whose send
// time falls in [start, end) are measured; the window is fixed before the
// first publish, so publishers and receivers agree on it without locks.
type stats struct {
	start, end atomic.Int64 // the measured window, unix nanoseconds

	hist histogram // latency of measured deliveries

	publishedTotal atomic.Uint64 // every publish, warm-up included (progress)
	receivedTotal  atomic.Uint64 // every payload received (progress)
	published      atomic.Uint64 // publishes in the window
	expected       atomic.Uint64 // deliveries owed for them
	delivered      atomic.Uint64 // deliveries of them
	receivedInWin  atomic.Uint64 // payloads received during the window, whenever sent (throughput)
	gaps           atomic.Uint64 // counter jumps a receiver saw (messages it never got)
	reorders       atomic.Uint64 // counters that went back or repeated
	behind         atomic.Uint64 // publishes that were more than lagLimit late
	disconnects    atomic.Uint64 // connections that dropped during the run
	publishErrors  atomic.Uint64
	controlTotal   atomic.Uint64 // frames without a payload (presence, ...) received
	lastControl    atomic.Int64  // when the last of them arrived, unix nanoseconds

	receivers []atomic.Int64 // per room: fast members currently reading
	closing   atomic.Bool    // set before the client closes its connections

	errMu    sync.Mutex
	firstErr string // the first disconnect or publish error
}

func newStats(rooms int) *stats {
	s := &stats{}
	s.start.Store(1<<63 - 1)
	s.end.Store(1<<63 - 1)
	s.receivers = make([]atomic.Int64, rooms)
	return s
}

// inWindow tells whether a payload sent at t is measured.
func (s *stats) inWindow(t int64) bool { return t >= s.start.Load() && t < s.end.Load() }

// noteErr keeps the first error worth showing.
func (s *stats) noteErr(what string, err error) {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.firstErr == "" {
		s.firstErr = what + ": " + err.Error()
	}
}

// received accounts for one data message a fast client received at now
// (unix nanoseconds): it records the latency of every measured payload and
// hands every other message to the target (Socket.IO pings need an answer).
func (s *stats) received(cfg *config, cl *client, msg []byte, now int64) {
	st, ok := parseStamp(msg)
	if !ok {
		s.controlTotal.Add(1)
		s.lastControl.Store(now)
		if err := cfg.target.control(cl.conn, msg); err != nil && !s.closing.Load() {
			s.noteErr("control reply", err)
		}
		return
	}
	s.receivedTotal.Add(1)
	switch {
	case st.counter <= cl.lastCounter:
		s.reorders.Add(1)
	case st.counter > cl.lastCounter+1:
		s.gaps.Add(uint64(st.counter - cl.lastCounter - 1))
	}
	if st.counter > cl.lastCounter {
		cl.lastCounter = st.counter
	}
	if s.inWindow(now) {
		s.receivedInWin.Add(1)
	}
	if s.inWindow(st.sentNanos) {
		s.delivered.Add(1)
		s.hist.Record(time.Duration(now - st.sentNanos))
	}
}

// lostMember accounts for a fast client whose connection ended during the
// run.
func (s *stats) lostMember(cl *client, why error) {
	if s.closing.Load() {
		return
	}
	s.receivers[cl.room].Add(-1)
	s.disconnects.Add(1)
	s.noteErr("disconnect", why)
}
