package main

import (
	"fmt"
	"strings"
	"time"
)

// Limits past which a run's figures may be the client's rather than the
// server's: the busy loop had work most of the time, a turn started late,
// or publishes left late.
const (
	limitBusyShare = 0.8
	limitLoopCycle = time.Millisecond // p99.9 of the loop's cycles
	limitOffCore   = 0.03             // share of the time off its core
	limitLate      = time.Millisecond // p99 of the publishes' lateness
)

// fillLoop copies what the busy loop measured of itself and says whether
// the client may have been the limit, and why. A loop that never sleeps
// uses all of its core: less means the kernel ran something else there.
// Call it after fillWindow.
func (r *result) fillLoop(l *loopStats, gcs uint64) {
	r.ClientBusyShare = l.busyShare()
	r.LoopCycleP999us = us(l.cycle.Quantile(0.999))
	r.LoopCycleMaxUs = us(l.cycle.Max())
	r.PublishLateP99us = us(l.late.Quantile(0.99))
	r.PublishLateMaxUs = us(l.late.Max())
	r.ClientGCs = gcs
	var why []string
	if r.ClientBusyShare > limitBusyShare {
		why = append(why, fmt.Sprintf("its loop had work %.0f%% of the time", 100*r.ClientBusyShare))
	}
	if l.cycle.Quantile(0.999) > limitLoopCycle {
		why = append(why, fmt.Sprintf("p99.9 of its loop's cycles %.0f µs", r.LoopCycleP999us))
	}
	if off := 1 - r.ClientCPUShare; off > limitOffCore {
		why = append(why, fmt.Sprintf("off its core %.0f%% of the time (other processes on it)", 100*off))
	}
	if l.late.Quantile(0.99) > limitLate {
		why = append(why, fmt.Sprintf("p99 of its publishes %.0f µs late", r.PublishLateP99us))
	}
	if r.PublishesBehind > 0 {
		why = append(why, fmt.Sprintf("%d publishes skipped behind schedule", r.PublishesBehind))
	}
	if gcs > 0 {
		why = append(why, fmt.Sprintf("%d garbage collections of its own", gcs))
	}
	r.ClientLimited = len(why) > 0
	r.ClientLimitWhy = strings.Join(why, "; ")
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
