package broker

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Defaults of Options' durations: with them a dead node's members leave
// within NodeTimeout plus one HeartbeatInterval (the sweep), 25 s.
const (
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultNodeTimeout       = 20 * time.Second
	DefaultProbeInterval     = 5 * time.Second
)

// opTimeout bounds every call to Redis, so a caller hears of an outage
// fast.
const opTimeout = 2 * time.Second

// Options configure a Redis broker.
type Options struct {
	// URL is where Redis is (see the package doc for the forms).
	URL string
	// Node is this process's name in the cluster; "" is DefaultNode().
	Node string
	// Logger gets one line per outage and per recovery; nil is none.
	Logger *zap.Logger
	// Observer counts the broker's state, errors, lag and repairs; nil is
	// none.
	Observer Observer
	// History are the limits of a room first numbered by a publish (a
	// server publish into a room with no members); zero keeps numbering
	// and keys only, for hub.MinKeyTTL.
	History hub.HistoryLimits
	// HeartbeatInterval is how often the node says it is alive and sweeps
	// dead nodes; 0 is DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// NodeTimeout is how long a silent node is taken for alive; 0 is
	// DefaultNodeTimeout.
	NodeTimeout time.Duration
	// ProbeInterval is how long the subscription connection may stay idle
	// before it is probed with a PING; 0 is DefaultProbeInterval.
	ProbeInterval time.Duration
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Node == "" {
		o.Node = DefaultNode()
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.History == (hub.HistoryLimits{}) {
		o.History = hub.HistoryLimits{TTL: hub.MinKeyTTL}
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if o.NodeTimeout <= 0 {
		o.NodeTimeout = DefaultNodeTimeout
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
	return o
}

var (
	nodeOnce sync.Once
	nodeName string
)

// DefaultNode is a node name unique to this process, the same for its
// whole life: hostname-pid-random.
func DefaultNode() string {
	nodeOnce.Do(func() {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "node"
		}
		b := make([]byte, 4)
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
		nodeName = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	})
	return nodeName
}

// errNode is the error of a node name that cannot be used.
var errNode = errors.New("broker: a node name may not hold whitespace or control characters")

// checkNode says whether name can name a node.
func checkNode(name string) error {
	if strings.IndexFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return errNode
	}
	return nil
}

// newClient builds the client the URL asks for, without talking to Redis.
func newClient(raw string) (redis.UniversalClient, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("broker: bad URL: %v", err)
	}
	base, kind, _ := strings.Cut(u.Scheme, "+")
	bad := func(err error) error { return fmt.Errorf("broker: bad URL %s: %v", u.Redacted(), err) }
	switch {
	case kind == "" && (base == "redis" || base == "rediss" || base == "unix"):
		o, err := redis.ParseURL(raw)
		if err != nil {
			return nil, bad(err)
		}
		o.MaxRetries, o.DialTimeout, o.PoolTimeout = -1, time.Second, opTimeout
		return redis.NewClient(o), nil
	case kind == "cluster" && (base == "redis" || base == "rediss"):
		o, err := redis.ParseClusterURL(base + strings.TrimPrefix(raw, u.Scheme))
		if err != nil {
			return nil, bad(err)
		}
		o.MaxRetries, o.DialTimeout, o.PoolTimeout = -1, time.Second, opTimeout
		return redis.NewClusterClient(o), nil
	case kind == "sentinel" && (base == "redis" || base == "rediss"):
		o, err := redis.ParseFailoverURL(base + strings.TrimPrefix(raw, u.Scheme))
		if err != nil {
			return nil, bad(err)
		}
		o.MaxRetries, o.DialTimeout, o.PoolTimeout = -1, time.Second, opTimeout
		return redis.NewFailoverClient(o), nil
	}
	return nil, bad(fmt.Errorf("scheme %q is not redis, rediss, unix, redis+cluster or redis+sentinel", u.Scheme))
}
