// Package caddyrooms is a Caddy module that serves WebSocket rooms: clients
// connect to a route, join and leave named rooms, and every message
// published to a room reaches all of its members in one order. The room
// engine is the hub package; this package wires it into Caddy.
package caddyrooms

import (
	"context"
	"net/http"
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyrooms/caddyrooms/hub"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// DefaultHub is the name of the hub used when a route names none.
const DefaultHub = "default"

// hubs holds the live hubs by name. A hub outlives config reloads: each
// config that uses it holds a reference, and the last one to let go closes
// every connection in it.
var hubs = caddy.NewUsagePool()

// hubEntry is a hub in the usage pool.
type hubEntry struct {
	*hub.Hub
	name string

	mu    sync.Mutex
	sizes map[int64]int // the hub's routes in loaded configs, counted by max_message_size

	brokerMu sync.Mutex // held while the broker is swapped
	broker   hubBroker  // the hub's broker; zero without one
}

// useConfig records that a route of the config of ctx serves the hub with
// cfg, until that config is unloaded. The admin API takes the largest
// max_message_size of the hub's routes as its limit for a published body.
func (e *hubEntry) useConfig(ctx caddy.Context, cfg *hub.Config) {
	size := cfg.MaxMessageSize
	e.mu.Lock()
	if e.sizes == nil {
		e.sizes = make(map[int64]int)
	}
	e.sizes[size]++
	e.mu.Unlock()
	// not ctx.OnCancel: on a module's copy of the context it never runs
	context.AfterFunc(ctx, func() {
		e.mu.Lock()
		if e.sizes[size]--; e.sizes[size] <= 0 {
			delete(e.sizes, size)
		}
		e.mu.Unlock()
	})
}

// maxMessageSize is the largest max_message_size of the hub's loaded
// routes; the default when none has recorded its config.
func (e *hubEntry) maxMessageSize() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	largest := int64(0)
	for size := range e.sizes {
		largest = max(largest, size)
	}
	if largest == 0 {
		return hub.DefaultMaxMessageSize
	}
	return largest
}

// lookupHub returns the hub called name without counting a user of it; nil
// when no loaded config uses it.
func lookupHub(name string) *hubEntry {
	var found *hubEntry
	hubs.Range(func(key, value any) bool {
		if key == name {
			found = value.(*hubEntry)
			return false
		}
		return true
	})
	return found
}

// requestReplacer is the request's placeholders, or a fresh replacer for a
// request that did not come through Caddy's server (a test's).
func requestReplacer(r *http.Request) *caddy.Replacer {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok && repl != nil {
		return repl
	}
	return caddy.NewReplacer()
}
