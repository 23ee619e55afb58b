package caddyrooms

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyrooms/caddyrooms/hub"
)

// historyMetrics are the collectors of history, resumes and idempotent
// publishes, process-wide like metrics.
var historyMetrics = newHistoryMetrics()

type historyMetricsSet struct {
	messages   prometheus.GaugeFunc
	bytes      prometheus.GaugeFunc
	resumes    *prometheus.CounterVec
	duplicates prometheus.Counter
}

func newHistoryMetrics() *historyMetricsSet {
	kept := func(name, help string, pick func(messages int, bytes int64) float64) prometheus.GaugeFunc {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help},
			func() float64 {
				total := 0.0
				hubs.Range(func(_, v any) bool {
					if m, b, ok := v.(*hubEntry).HistoryKept(); ok {
						total += pick(m, b)
					}
					return true
				})
				return total
			})
	}
	return &historyMetricsSet{
		messages: kept("history_messages", "Messages kept in rooms' history, all hubs together.",
			func(m int, _ int64) float64 { return float64(m) }),
		bytes: kept("history_bytes", "Bytes of the frames kept in rooms' history, all hubs together.",
			func(_ int, b int64) float64 { return float64(b) }),
		resumes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "resumes_total",
			Help: "Joins with since, by result: recovered, epoch_changed or too_old.",
		}, []string{"result"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "duplicate_publishes_total",
			Help: "Publishes not delivered again because the room had seen their key.",
		}),
	}
}

func (m *historyMetricsSet) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.messages, m.bytes, m.resumes, m.duplicates}
}

// Resumed counts a join with since; reason is empty when it was recovered.
func (m *metricsSet) Resumed(reason string) {
	if reason == "" {
		reason = "recovered"
	}
	historyMetrics.resumes.WithLabelValues(reason).Inc()
}

// DuplicateSuppressed counts a publish whose key the room had seen.
func (m *metricsSet) DuplicateSuppressed() { historyMetrics.duplicates.Inc() }

var _ hub.Observer = (*metricsSet)(nil)
