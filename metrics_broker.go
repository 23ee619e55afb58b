package caddyrooms

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyrooms/caddyrooms/broker"
)

// brokerMetrics are the collectors of the brokers, process-wide like
// metrics. Only the state gauge has a label, the hub (a broker serves one
// hub); no label names a room, a client or a node.
var brokerMetrics = newBrokerMetrics()

type brokerMetricsSet struct {
	up      *prometheus.GaugeVec
	errors  *prometheus.CounterVec
	lag     prometheus.Histogram
	gaps    prometheus.Counter
	resyncs prometheus.Counter
}

func newBrokerMetrics() *brokerMetricsSet {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	return &brokerMetricsSet{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "broker_up",
			Help: "1 while the hub's broker is reachable, 0 while it is not.",
		}, []string{"hub"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "broker_errors_total",
			Help: "Failed broker operations, by operation.",
		}, []string{"op"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "broker_pubsub_lag_seconds",
			Help:    "Time from a message's publish in Redis to its arrival on this node.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		gaps:    counter("broker_gaps_repaired_total", "Messages a node missed on pub/sub and read again from the room's history."),
		resyncs: counter("broker_resyncs_total", "Rooms whose local members were closed to resume, their missed messages gone from history."),
	}
}

func (m *brokerMetricsSet) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.up, m.errors, m.lag, m.gaps, m.resyncs}
}

// brokerObserver reports one broker of a hub to brokerMetrics; the one
// broker.Observer of the module.
type brokerObserver struct {
	hub     string
	retired atomic.Bool // the hub has another broker now, or none
}

// newBrokerObserver is the observer of a new broker of hub hubName.
func newBrokerObserver(hubName string) *brokerObserver { return &brokerObserver{hub: hubName} }

// State sets the broker_up gauge, unless the broker was replaced.
func (o *brokerObserver) State(up bool) {
	if o.retired.Load() {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	brokerMetrics.up.WithLabelValues(o.hub).Set(v)
}

// retire stops o from setting the gauge and drops the hub's series, when
// the hub has no broker any more; a successor's observer sets it again.
func (o *brokerObserver) retire() {
	if o == nil {
		return
	}
	o.retired.Store(true)
	brokerMetrics.up.DeleteLabelValues(o.hub)
}

// Error counts a failed operation.
func (o *brokerObserver) Error(op string) { brokerMetrics.errors.WithLabelValues(op).Inc() }

// Lag observes one message's pub/sub lag.
func (o *brokerObserver) Lag(d time.Duration) { brokerMetrics.lag.Observe(d.Seconds()) }

// GapRepaired counts n messages read again from history.
func (o *brokerObserver) GapRepaired(n int) { brokerMetrics.gaps.Add(float64(n)) }

// Resynced counts a room resynced.
func (o *brokerObserver) Resynced() { brokerMetrics.resyncs.Inc() }

var _ broker.Observer = (*brokerObserver)(nil)
