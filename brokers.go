package caddyrooms

import (
	"fmt"
	"net/url"

	"go.uber.org/zap"

	"github.com/caddyrooms/caddyrooms/broker"
	"github.com/caddyrooms/caddyrooms/hub"
)

// A hub's broker, in one place: the rooms app's settings (app.go) name
// it; a hub made by a route's Provision gets it from the start
// (hub.Options.Cluster), and the app's Start swaps it with
// Hub.SetCluster when a reload changes the settings. A broker serves one
// hub, the hub `default`: with a broker, a route that names another hub
// fails to load.

// brokerSettings are what makes two brokers the same: a reload with equal
// settings keeps the running one. The zero value is no broker.
type brokerSettings struct {
	url, node string
}

// hubBroker is a hub's broker with its settings and observer; the zero
// value is none.
type hubBroker struct {
	redis *broker.Redis
	obs   *brokerObserver
	set   brokerSettings
}

// checkBrokerURL fails when url is not a broker URL, saying why; it makes
// no connection.
func checkBrokerURL(url string) error {
	b, err := broker.New(broker.Options{URL: url, Node: broker.DefaultNode()})
	if err != nil {
		return fmt.Errorf("rooms: broker redis %q: %w", redactURL(url), err)
	}
	return b.Close()
}

// newHubBroker makes the broker of settings s for the hub hubName, and
// the hub.Cluster to give the hub: nil for the zero settings.
func newHubBroker(hubName string, s brokerSettings, logger *zap.Logger) (hubBroker, hub.Cluster, error) {
	if s == (brokerSettings{}) {
		return hubBroker{}, nil, nil
	}
	if hubName != DefaultHub {
		// the broker's keys name rooms, not hubs: two hubs' rooms would mix
		return hubBroker{}, nil, fmt.Errorf("rooms: hub %q: with a broker, every rooms route must use the hub %q (leave out `hub`)", hubName, DefaultHub)
	}
	obs := newBrokerObserver(hubName)
	b, err := broker.New(broker.Options{
		URL:      s.url,
		Node:     s.node,
		Logger:   logger.Named("broker").With(zap.String("hub", hubName)),
		Observer: obs,
		// a room numbered by a publish (its state lost, as by a restart of
		// Redis, while members publish) keeps the routes' default history
		History: hub.HistoryLimits{Size: hub.DefaultHistorySize, TTL: hub.DefaultHistoryTTL},
	})
	if err != nil {
		return hubBroker{}, nil, fmt.Errorf("rooms: hub %q: broker redis %q: %w", hubName, redactURL(s.url), err)
	}
	return hubBroker{redis: b, obs: obs, set: s}, b, nil
}

// applyBroker gives the hub the broker of settings s, unless it has it
// already: the hub joins its rooms on the new broker, then closes the old
// one; its connections stay open.
func (e *hubEntry) applyBroker(s brokerSettings, logger *zap.Logger) error {
	e.brokerMu.Lock()
	defer e.brokerMu.Unlock()
	if e.broker.set == s {
		return nil
	}
	hb, c, err := newHubBroker(e.name, s, logger)
	if err != nil {
		return err
	}
	e.broker.obs.retire()
	e.SetCluster(c)
	e.broker = hb
	if hb.redis == nil {
		logger.Info("hub left its broker: its rooms are this process's own", zap.String("hub", e.name))
	} else {
		logger.Info("hub uses a new broker", zap.String("hub", e.name), zap.String("node", s.node), zap.String("broker", redactURL(s.url)))
	}
	return nil
}

// forgetBroker forgets the broker of a closed hub (Hub.Close closed it).
func (e *hubEntry) forgetBroker() {
	e.brokerMu.Lock()
	defer e.brokerMu.Unlock()
	e.broker.obs.retire()
	e.broker = hubBroker{}
}

// brokerHealth is the health of the hub's broker; false when it has none.
func (e *hubEntry) brokerHealth() (broker.Health, bool) {
	e.brokerMu.Lock()
	b := e.broker.redis
	e.brokerMu.Unlock()
	if b == nil {
		return broker.Health{}, false
	}
	return b.Health(), true
}

// redactURL is u with its password hidden, for logs.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
