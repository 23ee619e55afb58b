package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestParseInfo reads calls and CPU from INFO answers, and refuses one
// without the CPU fields.
func TestParseInfo(t *testing.T) {
	for _, tt := range []struct {
		name  string
		text  string
		calls map[string]int64
		cpu   float64
		ok    bool
	}{
		{"full", "# Commandstats\r\ncmdstat_evalsha:calls=12,usec=300,usec_per_call=25.00,rejected_calls=0,failed_calls=0\r\n" +
			"cmdstat_incr:calls=12,usec=10,usec_per_call=0.83,rejected_calls=0,failed_calls=0\r\n\r\n# CPU\r\n" +
			"used_cpu_sys:1.500000\r\nused_cpu_user:0.250000\r\nused_cpu_sys_children:0.000000\r\n",
			map[string]int64{"evalsha": 12, "incr": 12}, 1.75, true},
		{"no cpu", "cmdstat_get:calls=1,usec=1\r\n", nil, 0, false},
		{"bad calls", "cmdstat_get:usec=1\r\nused_cpu_sys:1\r\nused_cpu_user:1\r\n", nil, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := parseInfo(tt.text)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v, want ok %v", err, tt.ok)
			}
			if !tt.ok {
				return
			}
			if s.cpu != tt.cpu || len(s.calls) != len(tt.calls) {
				t.Errorf("cpu %v calls %v, want %v %v", s.cpu, s.calls, tt.cpu, tt.calls)
			}
			for k, v := range tt.calls {
				if s.calls[k] != v {
					t.Errorf("calls[%s] = %d, want %d", k, s.calls[k], v)
				}
			}
		})
	}
}

// TestParseSS sums the counters of every socket but the skipped peer.
func TestParseSS(t *testing.T) {
	text := "0      0      127.0.0.1:6390 127.0.0.1:40000\n" +
		"\t bbr bytes_sent:100 bytes_acked:100 bytes_received:40 segs_out:3 data_segs_out:2 data_segs_in:2 lastsnd:4\n" +
		"0      0      127.0.0.1:6390 127.0.0.1:40001\n" +
		"\t bbr bytes_sent:7 bytes_received:9 data_segs_in:5 rtt:0.1/0.2\n"
	for _, tt := range []struct {
		skip           string
		segs, in, sent int64
	}{
		{"", 7, 49, 107},
		{"127.0.0.1:40001", 2, 40, 100},
		{"127.0.0.1:40000", 5, 9, 7},
	} {
		segs, in, sent := parseSS(text, tt.skip)
		if segs != tt.segs || in != tt.in || sent != tt.sent {
			t.Errorf("skip %q: %d %d %d, want %d %d %d", tt.skip, segs, in, sent, tt.segs, tt.in, tt.sent)
		}
	}
}

// TestSince leaves INFO out and keeps the other differences.
func TestSince(t *testing.T) {
	a := snapshot{calls: map[string]int64{"info": 3, "evalsha": 10, "get": 4}, cpu: 1, segsIn: 10, bytesIn: 100, bytesSent: 1000}
	b := snapshot{calls: map[string]int64{"info": 4, "evalsha": 20, "get": 4, "zadd": 2}, cpu: 1.5, segsIn: 20, bytesIn: 300, bytesSent: 1500}
	d := since(a, b)
	if d.commands != 12 || d.calls["evalsha"] != 10 || d.calls["zadd"] != 2 || len(d.calls) != 2 {
		t.Errorf("calls %v (%d commands)", d.calls, d.commands)
	}
	if d.roundTrips != 10 || d.bytesIn != 200 || d.bytesOut != 500 || d.cpu != 0.5 {
		t.Errorf("round trips %d, in %d, out %d, cpu %v", d.roundTrips, d.bytesIn, d.bytesOut, d.cpu)
	}
}

// TestBreakdown orders commands by calls per operation and drops the ones
// too rare to show.
func TestBreakdown(t *testing.T) {
	for _, tt := range []struct {
		calls map[string]float64
		want  string
	}{
		{map[string]float64{"incr": 1, "evalsha": 1, "xadd": 1, "publish": 2}, "PUBLISH 2, EVALSHA 1, INCR 1, XADD 1"},
		{map[string]float64{"zadd": 0.004, "sadd": 0.5}, "SADD 0.5"},
		{map[string]float64{}, ""},
	} {
		if got := breakdown(tt.calls); got != tt.want {
			t.Errorf("breakdown(%v) = %q, want %q", tt.calls, got, tt.want)
		}
	}
}

// TestParseOptions checks the command line's errors.
func TestParseOptions(t *testing.T) {
	for _, tt := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"-a", "ws://a:1", "-b", "ws://b:2", "-redis-port", "6390"}, true},
		{[]string{"-a", "ws://a:1", "-redis-port", "6390"}, false},
		{[]string{"-a", "ws://a:1", "-b", "ws://b:2"}, false},
		{[]string{"-a", "ws://a:1", "-b", "ws://b:2", "-redis-port", "1", "-n", "0"}, false},
	} {
		if _, err := parse(tt.args); (err == nil) != tt.ok {
			t.Errorf("parse(%q): err %v, want ok %v", tt.args, err, tt.ok)
		}
	}
}

// TestPrintTable prints a row per phase and the bytes of one more node.
func TestPrintTable(t *testing.T) {
	var buf bytes.Buffer
	printTable(&buf, []phase{
		{Name: "publish: 1 node subscribed, 2 members", Ops: 10, Calls: map[string]float64{"evalsha": 1}, Commands: 1, RoundTrips: 1, BytesOut: 300},
		{Name: "publish: 2 nodes subscribed, 3 members", Ops: 10, Calls: map[string]float64{"evalsha": 1}, Commands: 1, RoundTrips: 1, BytesOut: 480},
	})
	out := buf.String()
	if strings.Count(out, "\n| publish") != 2 || !strings.Contains(out, "(publish with 2 nodes minus with 1): 180") {
		t.Errorf("table:\n%s", out)
	}
}

// TestPrintTableIdleCPU leaves the CPU of a heartbeat phase out.
func TestPrintTableIdleCPU(t *testing.T) {
	var buf bytes.Buffer
	printTable(&buf, []phase{
		{Name: "heartbeat", Ops: 8, Heartbeats: 8, Calls: map[string]float64{"zadd": 2}, Commands: 2, RoundTrips: 3, CPUMicros: 2500, Idle: true},
		{Name: "leave", Ops: 10, Calls: map[string]float64{"evalsha": 1}, Commands: 1, RoundTrips: 1, CPUMicros: 30},
	})
	out := buf.String()
	if !strings.Contains(out, "| heartbeat | 8 | 2 | ZADD 2 | 3 | 0 | 0 | - | 8 |") || !strings.Contains(out, "| 30.0 | 0 |") {
		t.Errorf("table:\n%s", out)
	}
}
