package caddyrooms

import (
	"errors"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyrooms/caddyrooms/hub"
)

// metrics are the module's Prometheus collectors. They are process-wide
// and outlive config reloads: each new config's registry gets the same
// collectors, so counters keep counting. No label names a room or a client.
var metrics = newMetricsSet()

type metricsSet struct {
	connections  prometheus.Gauge
	rooms        prometheus.Gauge
	members      prometheus.Gauge
	received     prometheus.Counter
	deliveries   prometheus.Counter
	dropped      prometheus.Counter
	slowClosed   prometheus.Counter
	errors       *prometheus.CounterVec
	writeLatency prometheus.Histogram
}

const ns, sub = "caddy", "rooms"

func newMetricsSet() *metricsSet {
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	return &metricsSet{
		connections: gauge("connections", "Open WebSocket connections."),
		rooms:       gauge("rooms", "Rooms with at least one member."),
		members:     gauge("members", "Room memberships: a connection in two rooms counts twice."),
		received:    counter("messages_received_total", "Data frames received from clients."),
		deliveries:  counter("deliveries_total", "Room messages queued for a member."),
		dropped:     counter("dropped_messages_total", "Queued messages dropped by the drop_oldest policy."),
		slowClosed:  counter("slow_client_disconnects_total", "Connections closed because their send queue was full."),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "errors_total",
			Help: "Error replies and refusals sent to clients, by error code.",
		}, []string{"code"}),
		writeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "write_latency_seconds",
			Help:    "For each socket write, the time from the making of its oldest frame (the publish) to the write.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
	}
}

func (m *metricsSet) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.connections, m.rooms, m.members, m.received, m.deliveries,
		m.dropped, m.slowClosed, m.errors, m.writeLatency}
}

// registerMetrics adds the collectors to this config's registry.
func registerMetrics(ctx caddy.Context) error {
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return nil
	}
	for _, c := range slices.Concat(metrics.collectors(), historyMetrics.collectors(), brokerMetrics.collectors()) {
		var already prometheus.AlreadyRegisteredError
		if err := reg.Register(c); err != nil && !errors.As(err, &already) {
			return err
		}
	}
	return nil
}

// The hub reports to the collectors through hub.Observer.
func (m *metricsSet) Connected()                   { m.connections.Inc() }
func (m *metricsSet) Disconnected()                { m.connections.Dec() }
func (m *metricsSet) RoomCreated()                 { m.rooms.Inc() }
func (m *metricsSet) RoomDeleted()                 { m.rooms.Dec() }
func (m *metricsSet) MembersChanged(delta int)     { m.members.Add(float64(delta)) }
func (m *metricsSet) Received()                    { m.received.Inc() }
func (m *metricsSet) Delivered(n int)              { m.deliveries.Add(float64(n)) }
func (m *metricsSet) Dropped(n int)                { m.dropped.Add(float64(n)) }
func (m *metricsSet) SlowClientClosed()            { m.slowClosed.Inc() }
func (m *metricsSet) ErrorSent(code string)        { m.errors.WithLabelValues(errorLabel(code)).Inc() }
func (m *metricsSet) Written(oldest time.Duration) { m.writeLatency.Observe(oldest.Seconds()) }

// errorLabel is the code label of errors_total: the code when it is one of
// the hub's (hub.ErrorCodes), else "other" (an authorizer may refuse with
// codes of its own), so that the label's values stay a small fixed set.
func errorLabel(code string) string {
	if slices.Contains(hub.ErrorCodes, code) {
		return code
	}
	return "other"
}

var _ hub.Observer = (*metricsSet)(nil)
