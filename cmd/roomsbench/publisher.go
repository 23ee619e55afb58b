package main

import (
	"context"
	"time"
)

// lagLimit is how late a publisher may fall behind its schedule before it
// gives up on the missed publishes (counted as "behind") instead of sending
// them in a burst.
const lagLimit = 100 * time.Millisecond

// publish is the loop of room r's publisher, a member of the room. It sends
// at a fixed rate on a schedule that starts at begin, offset by r/rooms of an
// interval so that the rooms' publishers do not all fire on the same tick,
// and stops at the end of the measured window. Each payload carries its send
// time and the publisher's counter.
func (s *stats) publish(ctx context.Context, cfg *config, cl *client, begin time.Time) {
	interval := time.Duration(float64(time.Second) / cfg.rate)
	next := begin.Add(interval * time.Duration(cl.room) / time.Duration(cfg.rooms))
	end := time.Unix(0, s.end.Load())
	room := roomName(cfg, cl.room)
	var payload, frame []byte
	counter := 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		if wait := next.Sub(now); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			now = time.Now()
		}
		if !now.Before(end) || ctx.Err() != nil {
			return
		}
		if late := now.Sub(next); late > lagLimit {
			skipped := int64(late / interval)
			s.behind.Add(uint64(skipped))
			next = next.Add(time.Duration(skipped) * interval)
		}
		counter++
		t := now.UnixNano()
		payload = appendPayload(payload[:0], t, cl.room, counter, cfg.size)
		frame = cfg.target.appendPublish(frame[:0], room, payload)
		// Count before writing: the first deliveries may arrive before the
		// write returns.
		s.notePublish(cfg, cl.room, t)
		if err := cl.conn.writeText(frame); err != nil {
			if !s.closing.Load() {
				s.publishErrors.Add(1)
				s.noteErr("publish", err)
			}
			return
		}
		next = next.Add(interval)
	}
}

// notePublish counts a publish to room sent at t (unix nanoseconds) and,
// when it is measured, the deliveries it is owed. Call it before the write:
// the first deliveries may arrive before the write returns.
func (s *stats) notePublish(cfg *config, room int, t int64) {
	s.publishedTotal.Add(1)
	if !s.inWindow(t) {
		return
	}
	owed := s.receivers[room].Load()
	if !cfg.target.echoesSender {
		owed--
	}
	s.published.Add(1)
	if owed > 0 {
		s.expected.Add(uint64(owed))
	}
}
