package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Redis is a broker on Redis; it implements hub.Cluster.
type Redis struct {
	opt    Options
	node   string
	log    *zap.Logger
	obs    Observer
	client redis.UniversalClient
	sink   hub.ClusterSink

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed sync.Once

	checkMu  sync.Mutex
	toCheck  map[*roomSeq]struct{} // rooms to compare with Redis
	checkNow chan struct{}

	mu        sync.Mutex
	rooms     map[string]*roomSeq // rooms with local members, by name
	byChannel map[string]*roomSeq // the same, by channel
	waiters   map[string][]chan struct{}
	ps        *redis.PubSub

	state      state
	recovering sync.Mutex // one recovery at a time
	liveNodes  atomic.Int64
	beats      atomic.Int64

	// drop, when set (by tests), loses the messages it returns true for,
	// as if the subscription had missed them.
	drop func(room string, seq uint64) bool
}

// New returns a broker for o. It checks the URL and the node name but does
// not talk to Redis: Start connects, and retries until Close.
func New(o Options) (*Redis, error) {
	o = o.withDefaults()
	if err := checkNode(o.Node); err != nil {
		return nil, err
	}
	client, err := newClient(o.URL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Redis{
		opt: o, node: o.Node, log: o.Logger.With(zap.String("broker", "redis"), zap.String("node", o.Node)),
		obs: o.Observer, client: client, ctx: ctx, cancel: cancel, toCheck: make(map[*roomSeq]struct{}), checkNow: make(chan struct{}, 1),
		rooms: make(map[string]*roomSeq), byChannel: make(map[string]*roomSeq), waiters: make(map[string][]chan struct{}),
	}
	r.state.since = time.Now()
	routeRedisLog(r.log)
	return r, nil
}

// Start subscribes to this node's channel and starts the heartbeat, the
// sweeper and the subscription loop.
func (r *Redis) Start(s hub.ClusterSink) {
	r.sink = s
	r.mu.Lock()
	r.ps = r.client.Subscribe(r.ctx, nodeChannel(r.node))
	r.mu.Unlock()
	r.wg.Add(3)
	go r.receiveLoop()
	go r.heartbeatLoop()
	go r.checkLoop()
}

// Node is this process's name in the cluster.
func (r *Redis) Node() string { return r.node }

// Close stops the broker's loops and closes its connections. It leaves the
// node's members recorded: a broker taking over with the same node name
// keeps them, and otherwise the sweep of the other nodes removes them.
func (r *Redis) Close() error {
	var err error
	r.closed.Do(func() {
		r.cancel()
		r.mu.Lock()
		ps := r.ps
		r.mu.Unlock()
		if ps != nil {
			err = ps.Close()
		}
		r.wg.Wait()
		if cerr := r.client.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// Health is the broker's state, for the admin API.
type Health struct {
	Broker    string    `json:"broker"`
	Node      string    `json:"node"`
	State     string    `json:"state"` // "up" or "down"
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
	Rooms     int       `json:"rooms"` // rooms subscribed (with local members)
	Nodes     int       `json:"nodes"` // live nodes at the last heartbeat
}

// Health returns the broker's state now.
func (r *Redis) Health() Health {
	up, since, last := r.state.get()
	h := Health{Broker: "redis", Node: r.node, State: "down", Since: since, LastError: last, Nodes: int(r.liveNodes.Load())}
	if up {
		h.State = "up"
	}
	r.mu.Lock()
	h.Rooms = len(r.rooms)
	r.mu.Unlock()
	return h
}

// op is a context for one call to Redis, bounded by opTimeout.
func (r *Redis) op() (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.ctx, opTimeout)
}

// newEpoch is the epoch of a room numbered now.
func newEpoch() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// ms is d in milliseconds, as a script argument.
func ms(d time.Duration) int64 { return d.Milliseconds() }

var _ hub.Cluster = (*Redis)(nil)
