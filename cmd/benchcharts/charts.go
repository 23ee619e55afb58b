package main

// loads are the latency chart's groups: the scenario and its label.
var loads = []struct{ scenario, label string }{
	{"light", "10k/s"},
	{"p99", "100k/s"},
	{"p300", "300k/s"},
	{"bigroom", "room of 5,000, 100k/s"},
}

// percentiles are the latency chart's bars within a server.
var percentiles = []struct{ field, label string }{
	{"p50_ms", "p50"}, {"p99_ms", "p99"}, {"p999_ms", "p99.9"},
}

// charts makes the three charts of the runs, by file name; a chart with
// nothing to show is left out.
func charts(runs []run) map[string]*barChart {
	out := map[string]*barChart{}
	srv := servers(runs)
	if c := perServer(runs, srv, "sweep", "max_no_loss_per_sec", 1,
		"Deliveries per second at saturation, no loss (higher is better)", "deliveries/s"); c != nil {
		out["deliveries.svg"] = c
	}
	if c := perServer(runs, srv, "idle", "rss_per_conn_bytes", 1024,
		"Server memory per idle connection, 10,000 connections (lower is better)", "KiB"); c != nil {
		out["memory.svg"] = c
	}
	if c := latency(runs, srv); c != nil {
		out["latency.svg"] = c
	}
	return out
}

// perServer is a chart of one bar per server: the median of field over
// the scenario's reps, divided by div. It is built as one series per
// server (values[s][0]) and transposed into one group per server.
func perServer(runs []run, srv []string, scenario, field string, div float64, title, unit string) *barChart {
	c := &barChart{title: title, unit: unit}
	any := false
	for _, s := range srv {
		v, ok := median(runs, scenario, s, field)
		c.series = append(c.series, series{label: serverLabel[s], hue: hueOf(s)})
		c.values = append(c.values, []float64{v / div})
		c.present = append(c.present, []bool{ok})
		any = any || ok
	}
	if !any {
		return nil
	}
	return c.transpose()
}

// latency is the chart of p50, p99 and p99.9 per load and server, on a
// logarithmic scale.
func latency(runs []run, srv []string) *barChart {
	c := &barChart{title: "Publish-to-receive latency, ms (log scale; lower is better)", unit: "ms", log: true}
	for _, s := range srv {
		for i, p := range percentiles {
			c.series = append(c.series, series{label: serverLabel[s] + " " + p.label, hue: hueOf(s), shade: i})
		}
	}
	for _, l := range loads {
		var vs []float64
		var ps []bool
		any := false
		for _, s := range srv {
			for _, p := range percentiles {
				v, ok := median(runs, l.scenario, s, p.field)
				vs, ps = append(vs, v), append(ps, ok)
				any = any || ok
			}
		}
		if any { // a load that was not run gets no group
			c.groups = append(c.groups, l.label)
			c.values = append(c.values, vs)
			c.present = append(c.present, ps)
		}
	}
	if len(c.groups) == 0 {
		return nil
	}
	return c
}

// hueOf gives each server its colour.
func hueOf(server string) int {
	switch server {
	case "ours":
		return 210
	case "ours-raw":
		return 180
	case "nchan":
		return 20
	default:
		return 280
	}
}
