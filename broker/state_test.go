package broker

import (
	"errors"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestOutage: which errors mark Redis down and which are one operation's.
func TestOutage(t *testing.T) {
	cases := []struct {
		err  error
		down bool
	}{
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), true},
		{redis.ErrClosed, true},
		{proto("LOADING Redis is loading the dataset in memory"), true},
		{proto("CLUSTERDOWN The cluster is down"), true},
		{proto("READONLY You can't write against a read only replica."), true},
		{proto("ERR Error running script"), false},
		{proto("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
	}
	for _, c := range cases {
		if got := outage(c.err); got != c.down {
			t.Errorf("outage(%v) = %v, want %v", c.err, got, c.down)
		}
	}
}

// proto is an error as Redis answers it.
type proto string

func (e proto) Error() string { return string(e) }
func (proto) RedisError()     {}
