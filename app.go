package caddyrooms

import (
	"fmt"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddyrooms/caddyrooms/broker"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the `rooms` app: the settings every rooms route of the process
// shares, which are those of the global option `rooms` in a Caddyfile.
// Today that is the broker that makes several Caddy processes (nodes)
// serve the same rooms. Without a broker, each process keeps its rooms to
// itself, in memory.
//
// In JSON it is the app "rooms":
//
//	{"apps": {"rooms": {"broker": {"redis": "redis://127.0.0.1:6379/0"}, "node": "node-a"}}}
type App struct {
	// Broker is the broker the process's hubs share rooms through.
	// Default: none.
	Broker *BrokerConfig `json:"broker,omitempty"`

	// Node is this process's name among the nodes of the broker, shown
	// as "node" in the admin API. Names must differ between the
	// processes. Default: unique per process (host name, process id and
	// a random part), the same across reloads.
	Node string `json:"node,omitempty"`

	logger *zap.Logger
	used   *usedHubs // the hubs of this config's routes
}

// usedHubs are the hubs of a config's routes.
type usedHubs struct {
	mu   sync.Mutex
	hubs map[*hubEntry]bool
}

// BrokerConfig names a broker and where to reach it.
type BrokerConfig struct {
	// Redis is the URL of the Redis server the nodes share (global
	// placeholders such as {env.REDIS_URL} are replaced):
	// redis://[user:password@]host:port/db, rediss://... for TLS, and
	// the forms for Sentinel and Redis Cluster of the broker package's
	// documentation. Required.
	Redis string `json:"redis,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "rooms",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision checks the settings; it makes no connection, so that `caddy
// validate` works where Redis cannot be reached.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	a.used = &usedHubs{hubs: make(map[*hubEntry]bool)}
	if a.Broker != nil {
		a.Broker.Redis = caddy.NewReplacer().ReplaceKnown(a.Broker.Redis, "") // {env.*}
	}
	return a.Validate()
}

// Validate checks the broker's URL and the node's name.
func (a *App) Validate() error {
	if a.Broker == nil {
		if a.Node != "" {
			return fmt.Errorf("rooms: node %q: a node name needs a broker", a.Node)
		}
		return nil
	}
	if a.Broker.Redis == "" {
		return fmt.Errorf("rooms: broker: the Redis URL is required")
	}
	if err := checkNodeName(a.Node); a.Node != "" && err != nil {
		return fmt.Errorf("rooms: node %q: %v", a.Node, err)
	}
	return checkBrokerURL(a.Broker.Redis)
}

// maxNodeName bounds a node's name, which the broker writes into its keys
// and channels.
const maxNodeName = 128

// checkNodeName fails for a name that is too long or has spaces or control
// characters.
func checkNodeName(name string) error {
	if len(name) > maxNodeName {
		return fmt.Errorf("longer than %d bytes", maxNodeName)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("has a space or a control character")
	}
	return nil
}

// node is the node's name: Node, or the process's default.
func (a *App) node() string {
	if a.Node != "" {
		return a.Node
	}
	return broker.DefaultNode()
}

// settings are the app's broker settings; zero when it has no broker.
func (a *App) settings() brokerSettings {
	if a == nil || a.Broker == nil {
		return brokerSettings{}
	}
	return brokerSettings{url: a.Broker.Redis, node: a.node()}
}

// useHub records that a route of this config serves hub e, so that Start
// gives it this config's broker.
func (a *App) useHub(e *hubEntry) {
	a.used.mu.Lock()
	defer a.used.mu.Unlock()
	a.used.hubs[e] = true
}

// Start gives each hub of this config's routes this config's broker: a
// hub that has the same settings keeps its broker; one whose settings
// changed (or that gains or loses its broker) swaps it, its connections
// kept. The old config's routes still serve until Start returns.
func (a *App) Start() error {
	a.used.mu.Lock()
	defer a.used.mu.Unlock()
	s := a.settings()
	for e := range a.used.hubs {
		if err := e.applyBroker(s, a.logger); err != nil {
			return err
		}
	}
	return nil
}

// Stop does nothing: the hubs and their brokers outlive the config, and
// are closed when the last config that uses them is unloaded.
func (a *App) Stop() error { return nil }

// roomsApp is the rooms app of the config of ctx; an empty one when the
// config has none.
func roomsApp(ctx caddy.Context) (*App, error) {
	v, err := ctx.App("rooms")
	if err != nil {
		return nil, fmt.Errorf("rooms: loading the rooms app: %w", err)
	}
	return v.(*App), nil
}

// Interface guards
var (
	_ caddy.App         = (*App)(nil)
	_ caddy.Provisioner = (*App)(nil)
	_ caddy.Validator   = (*App)(nil)
)
