package broker

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// errNoPong is the error of a probe Redis did not answer.
var errNoPong = errors.New("no answer to a probe of the subscription")

// receiveLoop reads the subscription until Close: messages, presence and
// control go to the sink; every (re)subscription is checked against the
// room's position; an idle subscription is probed with a PING, and one
// that does not answer is replaced.
func (r *Redis) receiveLoop() {
	defer r.wg.Done()
	probing, failures := false, 0
	for r.ctx.Err() == nil {
		r.mu.Lock()
		ps := r.ps
		r.mu.Unlock()
		msg, err := ps.ReceiveTimeout(r.ctx, r.opt.ProbeInterval)
		if err == nil {
			probing, failures = false, 0
			r.received(msg)
			continue
		}
		if r.ctx.Err() != nil {
			return
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && !probing {
			probing = true
			if err = ps.Ping(r.ctx); err == nil {
				continue
			}
		} else if probing {
			err = errNoPong
		}
		_ = r.fail("subscribe", err)
		if errors.Is(err, errNoPong) {
			r.resubscribe()
		}
		probing, failures = false, failures+1
		r.sleep(backoff(failures))
	}
}

// received handles one item of the subscription.
func (r *Redis) received(msg any) {
	switch m := msg.(type) {
	case *redis.Subscription:
		if m.Kind == "subscribe" {
			r.subscribed(m.Channel)
		}
	case *redis.Message:
		r.dispatch(m.Channel, m.Payload)
	}
}

// subscribed wakes those waiting for channel's subscription and checks the
// room against its position in Redis (after a reconnection, the
// subscription may have missed messages).
func (r *Redis) subscribed(channel string) {
	r.mu.Lock()
	for _, w := range r.waiters[channel] {
		close(w)
	}
	delete(r.waiters, channel)
	rs := r.byChannel[channel]
	r.mu.Unlock()
	if rs != nil {
		r.queueCheck(rs)
	}
}

// dispatch hands on a message of a room's channel or of this node's.
func (r *Redis) dispatch(channel, payload string) {
	if payload == "" {
		return
	}
	if channel == nodeChannel(r.node) {
		r.control(payload)
		return
	}
	r.mu.Lock()
	rs := r.byChannel[channel]
	r.mu.Unlock()
	if rs == nil {
		return
	}
	switch payload[0] {
	case 'm':
		m, at, err := parseMessage(payload[1:])
		if err != nil {
			r.log.Error("unreadable message", zap.String("room", rs.room), zap.Error(err))
			return
		}
		r.deliver(rs, m, at)
	case 'p':
		r.presence(rs, payload[1:])
	case 'e':
		rs.sinkMu.Lock()
		defer rs.sinkMu.Unlock()
		if !rs.gone.Load() {
			r.sink.Emptied(rs.room)
		}
	}
}

// presence hands on a presence event of another node.
func (r *Redis) presence(rs *roomSeq, payload string) {
	p, err := parsePresence(payload)
	if err != nil {
		r.log.Error("unreadable presence event", zap.String("room", rs.room), zap.Error(err))
		return
	}
	if p.node == r.node {
		return
	}
	rs.sinkMu.Lock()
	defer rs.sinkMu.Unlock()
	if !rs.gone.Load() {
		r.sink.RemotePresence(rs.room, p.event, p.member, p.counts)
	}
}

// control handles a message of this node's channel: a kick.
func (r *Redis) control(payload string) {
	if payload[0] != 'k' {
		return
	}
	room, client, code, err := parseKick(payload[1:])
	if err != nil {
		r.log.Error("unreadable control message", zap.Error(err))
		return
	}
	r.kickLocal(room, client, code)
}

// kickLocal asks the hub to disconnect its member client of room, under
// the room's lock when the room is subscribed (the sink hears of one room
// from one goroutine at a time).
func (r *Redis) kickLocal(room, client string, code int) bool {
	r.mu.Lock()
	rs := r.rooms[room]
	r.mu.Unlock()
	if rs != nil {
		rs.sinkMu.Lock()
		defer rs.sinkMu.Unlock()
	}
	return r.sink.KickLocal(room, client, code)
}

// resubscribe replaces the subscription connection with a new one
// subscribed to every channel of the node.
func (r *Redis) resubscribe() {
	r.mu.Lock()
	defer r.mu.Unlock()
	channels := []string{nodeChannel(r.node)}
	for ch := range r.byChannel {
		channels = append(channels, ch)
	}
	if err := r.ps.Close(); err != nil {
		r.log.Debug("closing the old subscription", zap.Error(err))
	}
	r.ps = r.client.Subscribe(r.ctx, channels...)
}

// subscribe starts rs's subscription and waits, at most opTimeout, for
// Redis to confirm it.
func (r *Redis) subscribe(rs *roomSeq) error {
	w := make(chan struct{})
	r.mu.Lock()
	r.rooms[rs.room], r.byChannel[rs.keys.channel] = rs, rs
	r.waiters[rs.keys.channel] = append(r.waiters[rs.keys.channel], w)
	ps := r.ps
	r.mu.Unlock()
	ctx, cancel := r.op()
	defer cancel()
	if err := ps.Subscribe(ctx, rs.keys.channel); err != nil {
		return err
	}
	select {
	case <-w:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("subscribing: %w", ctx.Err())
	}
}

// unsubscribe ends rs's subscription: no more of the room's traffic.
func (r *Redis) unsubscribe(rs *roomSeq) {
	rs.gone.Store(true)
	r.mu.Lock()
	if r.rooms[rs.room] == rs {
		delete(r.rooms, rs.room)
		delete(r.byChannel, rs.keys.channel)
		delete(r.waiters, rs.keys.channel)
	}
	ps := r.ps
	r.mu.Unlock()
	ctx, cancel := r.op()
	defer cancel()
	if err := ps.Unsubscribe(ctx, rs.keys.channel); err != nil {
		_ = r.fail("subscribe", err) // a later resubscription leaves it out
	}
}

// backoff is the wait after n failures in a row: from 100 ms, doubling,
// up to 5 s.
func backoff(n int) time.Duration {
	d := 100 * time.Millisecond
	for i := 1; i < n && d < 5*time.Second; i++ {
		d *= 2
	}
	return min(d, 5*time.Second)
}

// sleep waits d or until Close.
func (r *Redis) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.ctx.Done():
	}
}
