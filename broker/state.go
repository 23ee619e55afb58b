package broker

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// state is whether Redis answers, since when, and the last error.
type state struct {
	mu      sync.Mutex
	up      bool
	known   bool // Redis answered or failed once
	since   time.Time
	lastErr string
}

// get returns the state.
func (s *state) get() (up bool, since time.Time, lastErr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up, s.since, s.lastErr
}

// set records up and says whether it changed, and how long the previous
// state lasted.
func (s *state) set(up bool, err error) (changed bool, lasted time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.lastErr = err.Error()
	}
	if s.known && s.up == up {
		return false, 0
	}
	now := time.Now()
	lasted, s.up, s.known, s.since = now.Sub(s.since), up, true, now
	return true, lasted
}

// fail counts an error of op and returns it wrapped in hub.ErrUnavailable;
// an error that is not Redis's answer marks Redis down (one log line per
// outage).
func (r *Redis) fail(op string, err error) error {
	r.obs.Error(op)
	if outage(err) && r.ctx.Err() == nil {
		if changed, _ := r.state.set(false, err); changed {
			r.obs.State(false)
			r.log.Warn("redis unreachable: rooms cannot publish until it is back", zap.String("op", op), zap.Error(err))
		}
	} else if r.ctx.Err() == nil {
		r.log.Error("redis refused an operation", zap.String("op", op), zap.Error(err))
	}
	return fmt.Errorf("%w: %s: %v", hub.ErrUnavailable, op, err)
}

// outage says whether err means Redis cannot serve now (no answer, or an
// answer saying so) rather than that it refused this operation.
func outage(err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return true
	}
	for _, p := range []string{"LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "BUSY"} {
		if strings.HasPrefix(reply.Error(), p) {
			return true
		}
	}
	return false
}

// ok marks Redis up and says whether it was down; after an outage it logs
// the recovery once.
func (r *Redis) ok() bool {
	changed, lasted := r.state.set(true, nil)
	if !changed {
		return false
	}
	r.obs.State(true)
	if r.beats.Load() > 0 {
		r.log.Info("redis reachable again", zap.Duration("down_for", lasted))
	} else {
		r.log.Info("redis reachable")
	}
	return true
}
