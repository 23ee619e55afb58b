package main

import (
	"fmt"
	"io"
	"time"
)

// result is what one run reports. The JSON names are what bench/compare.sh
// reads.
type result struct {
	Target   string  `json:"target"`
	Mode     string  `json:"mode"` // "load", "idle" or "fill"
	Clients  int     `json:"clients"`
	Rooms    int     `json:"rooms"`
	Rate     float64 `json:"rate_per_room"`
	Size     int     `json:"size"`
	Slow     int     `json:"slow"`
	Duration float64 `json:"duration_s"`

	Connected         int     `json:"connected"`
	ConnectErrors     int     `json:"connect_errors"`
	FirstConnectError string  `json:"first_connect_error,omitempty"`
	ConnectSeconds    float64 `json:"connect_s"` // connecting and joining every client
	Publishers        int     `json:"publishers,omitempty"`
	SettledSeconds    float64 `json:"settled_s,omitempty"`         // fill: until the server's last frame of the fill arrived
	ServerFrames      uint64  `json:"server_frames,omitempty"`     // fill: frames without a payload received after the joins
	FramesPerClient   float64 `json:"frames_per_client,omitempty"` // fill: ServerFrames per connected client

	Published        uint64  `json:"published,omitempty"`
	PublishesPerSec  float64 `json:"publishes_per_sec,omitempty"`
	PublishesBehind  uint64  `json:"publishes_behind,omitempty"`
	Expected         uint64  `json:"expected,omitempty"`
	Delivered        uint64  `json:"delivered,omitempty"`
	Lost             uint64  `json:"lost"`
	Extra            uint64  `json:"extra,omitempty"`              // delivered beyond expected (duplicates)
	DeliveriesPerSec float64 `json:"deliveries_per_sec,omitempty"` // received during the window, by receive time
	OfferedPerSec    float64 `json:"offered_per_sec,omitempty"`    // deliveries owed for the window's publishes, per second
	Gaps             uint64  `json:"gaps,omitempty"`
	Reorders         uint64  `json:"reorders,omitempty"`
	Disconnects      uint64  `json:"disconnects"`
	SlowClosed       int     `json:"slow_closed_by_server"` // slow consumers the server had disconnected
	PublishErrors    uint64  `json:"publish_errors,omitempty"`
	FirstError       string  `json:"first_error,omitempty"`
	DrainSeconds     float64 `json:"drain_s,omitempty"`

	P50ms  float64 `json:"p50_ms,omitempty"`
	P90ms  float64 `json:"p90_ms,omitempty"`
	P99ms  float64 `json:"p99_ms,omitempty"`
	P999ms float64 `json:"p999_ms,omitempty"`
	MaxMs  float64 `json:"max_ms,omitempty"`

	ServerCPUSeconds     float64 `json:"server_cpu_s,omitempty"`
	CPUSecPerMillion     float64 `json:"cpu_s_per_million,omitempty"`
	ServerRSSBeforeBytes int64   `json:"server_rss_before_bytes,omitempty"`
	ServerRSSBytes       int64   `json:"server_rss_bytes,omitempty"`
	ServerProcesses      int     `json:"server_processes,omitempty"`
	RSSPerConnBytes      float64 `json:"rss_per_conn_bytes,omitempty"`

	// ClientCPUShare is the load client's own CPU time over the measured
	// time and the drain, as a share of one core: near 1 means the client,
	// not the server, may have been the limit.
	ClientCPUShare      float64 `json:"client_cpu_share,omitempty"`
	ClientCPUPerMillion float64 `json:"client_cpu_s_per_million,omitempty"`
	// OtherCPUShare is the CPU time the rest of the machine used meanwhile,
	// in cores: well above 0 means the run was disturbed and should be
	// repeated (the host is shared).
	OtherCPUShare float64 `json:"other_cpu_share"`

	// What the busy loop measured of itself (-reader epoll): the share of
	// the time it had work, its cycles (a turn and any time off the
	// processor before it), how late publishes
	// left, and whether all that makes the client a possible limit.
	ClientBusyShare  float64 `json:"client_busy_share,omitempty"`
	LoopCycleP999us  float64 `json:"loop_cycle_p999_us,omitempty"`
	LoopCycleMaxUs   float64 `json:"loop_cycle_max_us,omitempty"`
	PublishLateP99us float64 `json:"publish_late_p99_us,omitempty"`
	PublishLateMaxUs float64 `json:"publish_late_max_us,omitempty"`
	ClientGCs        uint64  `json:"client_gcs"`
	ClientLimited    bool    `json:"client_limited"`
	ClientLimitWhy   string  `json:"client_limit_why,omitempty"`
}

func newResult(cfg *config, mode string) *result {
	return &result{
		Target: cfg.target.name, Mode: mode,
		Clients: cfg.clients, Rooms: cfg.rooms, Rate: cfg.rate, Size: cfg.size, Slow: cfg.slow,
		Duration: cfg.duration.Seconds(),
	}
}

// fillLoad copies the counters and latency quantiles of a load run.
func (r *result) fillLoad(s *stats, cfg *config, drained time.Duration) {
	secs := cfg.duration.Seconds()
	r.Published = s.published.Load()
	r.PublishesPerSec = float64(r.Published) / secs
	r.PublishesBehind = s.behind.Load()
	r.Expected = s.expected.Load()
	r.Delivered = s.delivered.Load()
	r.Lost, r.Extra = lostAndExtra(r.Expected, r.Delivered)
	r.DeliveriesPerSec = float64(s.receivedInWin.Load()) / secs
	r.OfferedPerSec = float64(r.Expected) / secs
	r.Gaps = s.gaps.Load()
	r.Reorders = s.reorders.Load()
	r.Disconnects = s.disconnects.Load()
	r.PublishErrors = s.publishErrors.Load()
	r.FirstError = s.firstErr
	r.DrainSeconds = drained.Seconds()
	r.P50ms = ms(s.hist.Quantile(0.50))
	r.P90ms = ms(s.hist.Quantile(0.90))
	r.P99ms = ms(s.hist.Quantile(0.99))
	r.P999ms = ms(s.hist.Quantile(0.999))
	r.MaxMs = ms(s.hist.Max())
}

// fillUsage sets the server's CPU and memory from two /proc readings.
func (r *result) fillUsage(before, after procUsage) {
	r.ServerCPUSeconds = after.CPUSeconds - before.CPUSeconds
	r.CPUSecPerMillion = cpuPerMillion(r.ServerCPUSeconds, r.Delivered)
	r.ServerRSSBytes = after.RSSBytes
	r.ServerProcesses = after.Processes
}

// lostAndExtra splits the difference between owed and delivered deliveries.
func lostAndExtra(expected, delivered uint64) (lost, extra uint64) {
	if delivered >= expected {
		return 0, delivered - expected
	}
	return expected - delivered, 0
}

// cpuPerMillion returns server CPU seconds per million deliveries (0 when
// nothing was delivered).
func cpuPerMillion(cpuSeconds float64, delivered uint64) float64 {
	if delivered == 0 {
		return 0
	}
	return cpuSeconds / (float64(delivered) / 1e6)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// print writes the result for people.
func (r *result) print(w io.Writer) {
	fmt.Fprintf(w, "target %s, %s mode: %d clients (%d connected in %.1fs, %d failed), %d rooms",
		r.Target, r.Mode, r.Clients, r.Connected, r.ConnectSeconds, r.ConnectErrors, r.Rooms)
	if r.Slow > 0 {
		fmt.Fprintf(w, ", %d slow consumers (%d disconnected by the server; latency and loss are the other clients')", r.Slow, r.SlowClosed)
	}
	fmt.Fprintln(w)
	if r.FirstConnectError != "" {
		fmt.Fprintf(w, "  first connect error: %s\n", r.FirstConnectError)
	}
	switch r.Mode {
	case "fill":
		fmt.Fprintf(w, "  joined in %.3fs, the server's last frame at %.3fs; %d frames without payload (%.2f per client)\n",
			r.ConnectSeconds, r.SettledSeconds, r.ServerFrames, r.FramesPerClient)
		if r.ServerProcesses > 0 {
			fmt.Fprintf(w, "  server: %.2f CPU s, RSS %s\n", r.ServerCPUSeconds, mib(r.ServerRSSBytes))
		}
		fmt.Fprintf(w, "  client CPU: %.0f%% of one core; other processes: %.2f cores\n", 100*r.ClientCPUShare, r.OtherCPUShare)
	case "idle":
		fmt.Fprintf(w, "  server RSS %s -> %s: %.0f bytes per connection\n",
			mib(r.ServerRSSBeforeBytes), mib(r.ServerRSSBytes), r.RSSPerConnBytes)
	default:
		fmt.Fprintf(w, "  %.0f msg/s per room x %d B for %.1fs: %d publishes (%.0f/s, %d behind schedule)\n",
			r.Rate, r.Size, r.Duration, r.Published, r.PublishesPerSec, r.PublishesBehind)
		fmt.Fprintf(w, "  throughput: %.0f deliveries/s received of %.0f/s offered\n", r.DeliveriesPerSec, r.OfferedPerSec)
		fmt.Fprintf(w, "  deliveries: %d of %d, lost %d, extra %d, gaps %d, reorders %d, drain %.2fs\n",
			r.Delivered, r.Expected, r.Lost, r.Extra, r.Gaps, r.Reorders, r.DrainSeconds)
		fmt.Fprintf(w, "  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
			r.P50ms, r.P90ms, r.P99ms, r.P999ms, r.MaxMs)
		fmt.Fprintf(w, "  client CPU: %.0f%% of one core (%.2f s per million received); other processes: %.2f cores\n",
			100*r.ClientCPUShare, r.ClientCPUPerMillion, r.OtherCPUShare)
		if r.ServerProcesses > 0 {
			fmt.Fprintf(w, "  server: %.2f CPU s (%.2f s per million deliveries), RSS %s\n",
				r.ServerCPUSeconds, r.CPUSecPerMillion, mib(r.ServerRSSBytes))
		}
		r.printLoop(w)
	}
	if r.Disconnects > 0 || r.PublishErrors > 0 || r.FirstError != "" {
		fmt.Fprintf(w, "  disconnects %d, publish errors %d; first: %s\n", r.Disconnects, r.PublishErrors, r.FirstError)
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// printLoop writes what the busy loop measured of itself.
func (r *result) printLoop(w io.Writer) {
	if r.LoopCycleMaxUs == 0 {
		return
	}
	fmt.Fprintf(w, "  client loop: work %.0f%% of the time, cycles p99.9 %.0f µs (max %.0f), publishes p99 %.0f µs late (max %.0f), %d GCs\n",
		100*r.ClientBusyShare, r.LoopCycleP999us, r.LoopCycleMaxUs, r.PublishLateP99us, r.PublishLateMaxUs, r.ClientGCs)
	if r.ClientLimited {
		fmt.Fprintf(w, "  THE CLIENT MAY HAVE BEEN THE LIMIT: %s\n", r.ClientLimitWhy)
	}
}
