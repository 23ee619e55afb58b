package main

import (
	"strings"
	"testing"
)

// sampleRuns is a small results file: two servers, two reps of some
// scenarios, a failed run and a scenario one server lacks.
var sampleRuns = []run{
	{Scenario: "p99", Server: "ours", Fields: runField{"p50_ms": 0.4, "p99_ms": 2.5, "p999_ms": 5}},
	{Scenario: "p99", Server: "ours", Fields: runField{"p50_ms": 0.5, "p99_ms": 2.1, "p999_ms": 4}},
	{Scenario: "p99", Server: "ours", Fields: runField{"p50_ms": 0.6, "p99_ms": 2.2, "p999_ms": 9}},
	{Scenario: "p99", Server: "nchan", Fields: runField{"p50_ms": 0.33, "p99_ms": 1.8, "p999_ms": 3.9}},
	{Scenario: "p99", Server: "nchan", Failed: true, Fields: runField{"p50_ms": 99}},
	{Scenario: "sweep", Server: "ours", Fields: runField{"max_no_loss_per_sec": 1500000}},
	{Scenario: "sweep", Server: "nchan", Fields: runField{"max_no_loss_per_sec": 260000}},
	{Scenario: "idle", Server: "nchan", Fields: runField{"rss_per_conn_bytes": 10240}},
}

func TestMedian(t *testing.T) {
	tests := []struct {
		scenario, server, field string
		want                    float64
		wantOK                  bool
	}{
		{"p99", "ours", "p50_ms", 0.5, true},
		{"p99", "ours", "p999_ms", 5, true},
		{"p99", "nchan", "p50_ms", 0.33, true}, // the failed run does not count
		{"idle", "ours", "rss_per_conn_bytes", 0, false},
		{"p300", "ours", "p99_ms", 0, false},
	}
	for _, tt := range tests {
		got, ok := median(sampleRuns, tt.scenario, tt.server, tt.field)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("median(%s, %s, %s) = %v, %v; want %v, %v", tt.scenario, tt.server, tt.field, got, ok, tt.want, tt.wantOK)
		}
	}
}

// Each chart holds a bar for each value the runs have, labelled with its
// median, and none for what they lack.
func TestCharts(t *testing.T) {
	got := charts(sampleRuns)
	tests := []struct {
		file    string
		want    []string
		notWant []string
	}{
		{"deliveries.svg", []string{"caddyrooms json: 1.5M deliveries/s", "Nchan: 260k deliveries/s"}, nil},
		{"memory.svg", []string{"Nchan: 10 KiB"}, []string{"caddyrooms json: "}},
		{"latency.svg", []string{"caddyrooms json p99: 2.2 ms", "Nchan p99.9: 3.9 ms", "100k/s", "log scale"},
			[]string{"300k/s", "99 ms"}},
	}
	for _, tt := range tests {
		c := got[tt.file]
		if c == nil {
			t.Errorf("no %s", tt.file)
			continue
		}
		svg := c.svg()
		if !strings.HasPrefix(svg, "<svg ") || !strings.HasSuffix(svg, "</svg>\n") {
			t.Errorf("%s is not one svg element", tt.file)
		}
		for _, w := range tt.want {
			if !strings.Contains(svg, w) {
				t.Errorf("%s lacks %q", tt.file, w)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(svg, w) {
				t.Errorf("%s has %q", tt.file, w)
			}
		}
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{{1500000, "1.5M"}, {3130067, "3.13M"}, {291480, "291k"}, {126.35, "126"}, {22.16, "22.2"}, {4.6, "4.6"}, {0.35, "0.35"}, {0, "0"}}
	for _, tt := range tests {
		if got := num(tt.v); got != tt.want {
			t.Errorf("num(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}
