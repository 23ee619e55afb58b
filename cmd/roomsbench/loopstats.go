package main

import (
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// loopStats is what the busy loop measures about itself during the
// window: how long apart its turns start (a long gap means a frame may
// have waited that long in the kernel for the client, not the server),
// how much of the time it had work, and how late the publishes went out.
type loopStats struct {
	cycle     histogram    // time from the end of a turn to the end of the next
	late      histogram    // send time minus scheduled time, per publish
	idleNanos atomic.Int64 // time in turns that found nothing to do
	wallNanos atomic.Int64 // time covered by the turns counted
}

// turn accounts for one turn of the loop that started at start and ended
// at end; prevEnd is when the turn before ended. The gap between them is
// time the loop was off the processor (yielding, descheduled).
func (l *loopStats) turn(s *stats, prevEnd, start, end int64, worked bool) {
	if !s.inWindow(start) {
		return
	}
	l.cycle.Record(time.Duration(end - prevEnd))
	l.wallNanos.Add(end - prevEnd)
	if !worked {
		l.idleNanos.Add(end - start)
	}
}

// busyShare is the share of the window's time the loop was not polling an
// empty epoll set: doing the work, or off the processor.
func (l *loopStats) busyShare() float64 {
	wall := l.wallNanos.Load()
	if wall == 0 {
		return 0
	}
	return 1 - float64(l.idleNanos.Load())/float64(wall)
}

// gcCycles returns how many garbage collections this process has
// finished; the busy loop does not allocate, so any in the window came
// from elsewhere in the client and may have stalled the loop.
func gcCycles() uint64 {
	sample := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}
