package main

import (
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// loopStats is what the busy loop measures about itself during the
// window: its cycles (a long one means a frame may have waited that long
// in the kernel for the client, not the server), how much of the time it
// was busy, and how late the publishes went out.
type loopStats struct {
	cycle     histogram    // time from the end of a turn to the end of the next
	late      histogram    // send time minus scheduled time, per publish
	busyNanos atomic.Int64 // turns with work, and time off the processor
	wallNanos atomic.Int64 // time covered by the turns counted
}

// offProcessor is the shortest pause between two turns that counts as
// time the loop was off the processor (another goroutine ran, or the
// kernel ran another thread); shorter ones are the loop's own bookkeeping.
const offProcessor = 20 * time.Microsecond

// turn accounts for one turn of the loop that started at start and ended
// at end; prevEnd is when the turn before ended. The cycle between the two
// ends is the longest a frame could have waited in the kernel for the loop:
// the turn's own work, and any time the loop was off the processor.
func (l *loopStats) turn(s *stats, prevEnd, start, end int64, worked bool) {
	if !s.inWindow(start) {
		return
	}
	l.cycle.Record(time.Duration(end - prevEnd))
	l.wallNanos.Add(end - prevEnd)
	busy := int64(0)
	if worked {
		busy = end - start
	}
	if gap := start - prevEnd; gap >= int64(offProcessor) {
		busy += gap
	}
	if busy > 0 {
		l.busyNanos.Add(busy)
	}
}

// busyShare is the share of the window's time the loop was not free to
// poll: doing the work, or off the processor.
func (l *loopStats) busyShare() float64 {
	wall := l.wallNanos.Load()
	if wall == 0 {
		return 0
	}
	return float64(l.busyNanos.Load()) / float64(wall)
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
