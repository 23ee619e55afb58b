package main

import (
	"runtime"
	"syscall"
	"time"
)

// The load itself runs in busy mode: from the first publish to the end of
// the drain, the receive loop never sleeps. Each
// turn it sends the publishes that are due (raw writes on the publishers'
// sockets) and polls the epoll set with a zero timeout, so a frame is read,
// and its receive time taken, within one turn of its arrival, with no
// goroutine wake-up, no timer and no netpoller between the socket and the
// clock. What the loop itself costs is measured (loopStats) and reported,
// so a run says when the client, not the server, set its numbers.

const (
	// idleYield is how long an idle loop polls before it lets the other
	// goroutines (the run's clock, the progress line) have the processor.
	idleYield = 50 * time.Microsecond
	// busyYield bounds how long a loop with work keeps the processor.
	busyYield = time.Millisecond
)

// busyPlan is what startBusy hands the loop: the publishers it drives.
type busyPlan struct {
	pubs []*loopPublisher
}

// startBusy switches the receive loop to busy mode with these publishers;
// the loop stays in it until close.
func (r *receiver) startBusy(pubs []*loopPublisher) {
	r.plan.Store(&busyPlan{pubs: pubs})
	r.epf.SetReadDeadline(time.Now()) // wakes the parked loop
}

// busy is the loop in busy mode, until close. (It does not lock its OS
// thread: a locked goroutine that yields hands the processor to another
// thread and sleeps, two thread switches per yield.)
func (r *receiver) busy(plan *busyPlan, events []syscall.EpollEvent) {
	prev := time.Now().UnixNano()
	lastYield := prev
	for !r.stop.Load() {
		r.adoptFresh()
		start := time.Now().UnixNano()
		worked := r.publishDue(plan.pubs, start)
		n, err := syscall.EpollWait(r.epfd, events, 0)
		if err != nil && err != syscall.EINTR {
			r.s.noteErr("epoll wait", err)
			return
		}
		if n > 0 {
			r.serve(events[:n])
			worked = true
		}
		r.flushDirty()
		end := time.Now().UnixNano()
		r.self.turn(r.s, prev, start, end, worked)
		prev = end
		if since := time.Duration(end - lastYield); since >= busyYield || (!worked && since >= idleYield) {
			runtime.Gosched()
			lastYield = time.Now().UnixNano()
		}
	}
}
