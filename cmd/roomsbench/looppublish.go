package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"syscall"
	"time"
)

// loopPublisher is one room's publisher in busy mode: a member of the room
// whose publishes the loop writes on schedule, straight to its socket.
type loopPublisher struct {
	cl       *client
	rc       *rconn
	room     string
	interval int64 // nanoseconds between publishes
	next     int64 // when the next publish is due, unix nanoseconds
	end      int64 // no publish from then on
	counter  int
	payload  []byte
	frame    []byte
}

// newLoopPublisher makes room cl.room's publisher, its schedule starting
// at begin, offset by room/rooms of an interval so that the rooms do not
// all publish on the same tick.
func newLoopPublisher(cfg *config, s *stats, cl *client, rc *rconn, begin time.Time) *loopPublisher {
	interval := int64(float64(time.Second) / cfg.rate)
	return &loopPublisher{
		cl: cl, rc: rc, room: roomName(cfg, cl.room), interval: interval,
		next: begin.UnixNano() + interval*int64(cl.room)/int64(cfg.rooms),
		end:  s.end.Load(),
	}
}

// publishDue sends each publisher's publish if it is due at now; it
// reports whether it sent any.
func (r *receiver) publishDue(pubs []*loopPublisher, now int64) bool {
	sent := false
	for _, p := range pubs {
		if now < p.next || now >= p.end || p.rc.gone {
			continue
		}
		if late := now - p.next; late > int64(lagLimit) {
			skipped := late / p.interval
			r.s.behind.Add(uint64(skipped))
			p.next += skipped * p.interval
		}
		r.publishOne(p)
		p.next += p.interval
		sent = true
	}
	return sent
}

// publishOne builds one publish, stamps it with the time just before the
// write and writes it.
func (r *receiver) publishOne(p *loopPublisher) {
	p.counter++
	t := time.Now().UnixNano()
	p.payload = appendPayload(p.payload[:0], t, p.cl.room, p.counter, r.cfg.size)
	msg := r.cfg.target.appendPublish(p.frame[:0], p.room, p.payload)
	p.frame = msg
	if r.s.inWindow(t) {
		r.self.late.Record(time.Duration(t - p.next))
	}
	r.s.notePublish(r.cfg, p.cl.room, t)
	r.sendFrame(p.rc, opText, msg)
}

// sendFrame writes one masked client frame on rc's socket, or queues what
// the socket does not take now (flushDirty retries it each turn).
func (r *receiver) sendFrame(rc *rconn, op byte, payload []byte) {
	queued := len(rc.out) > 0
	rc.out = appendClientFrame(rc.out, op, payload, rc.mask)
	if queued {
		return
	}
	if r.flush(rc) && len(rc.out) > 0 {
		r.dirty = append(r.dirty, rc)
	}
}

// flush writes what rc has queued; it reports false when the socket failed.
func (r *receiver) flush(rc *rconn) bool {
	for len(rc.out) > 0 {
		n, err := syscall.Write(rc.fd, rc.out)
		if err == syscall.EAGAIN {
			return true
		}
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			if err == nil {
				err = errors.New("socket took no bytes")
			}
			if !r.s.closing.Load() {
				r.s.publishErrors.Add(1)
				r.s.noteErr("publish", err)
			}
			r.drop(rc, err)
			return false
		}
		rc.out = rc.out[:copy(rc.out, rc.out[n:])]
	}
	return true
}

// flushDirty retries the sockets with queued bytes.
func (r *receiver) flushDirty() {
	if len(r.dirty) == 0 {
		return
	}
	keep := r.dirty[:0]
	for _, rc := range r.dirty {
		if !rc.gone && r.flush(rc) && len(rc.out) > 0 {
			keep = append(keep, rc)
		}
	}
	r.dirty = keep
}

// appendClientFrame appends one final client frame (masked, as RFC 6455
// requires of clients) and returns it.
func appendClientFrame(dst []byte, op byte, payload []byte, mask [4]byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, 0x80|byte(n))
	case n < 1<<16:
		dst = append(dst, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = append(dst, mask[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	for i := range dst[start:] {
		dst[start+i] ^= mask[i&3]
	}
	return dst
}

// newMask returns a random masking key.
func newMask() [4]byte {
	var m [4]byte
	rand.Read(m[:])
	return m
}
