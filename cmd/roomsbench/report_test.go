package main

import "testing"

func TestLostAndExtra(t *testing.T) {
	tests := []struct{ expected, delivered, lost, extra uint64 }{
		{100, 100, 0, 0},
		{100, 90, 10, 0},
		{100, 103, 0, 3},
		{0, 0, 0, 0},
	}
	for _, tt := range tests {
		lost, extra := lostAndExtra(tt.expected, tt.delivered)
		if lost != tt.lost || extra != tt.extra {
			t.Errorf("lostAndExtra(%d, %d) = %d, %d", tt.expected, tt.delivered, lost, extra)
		}
	}
}

func TestCPUPerMillion(t *testing.T) {
	tests := []struct {
		cpu       float64
		delivered uint64
		want      float64
	}{
		{2, 1000000, 2},
		{1.5, 500000, 3},
		{1, 0, 0},
	}
	for _, tt := range tests {
		if got := cpuPerMillion(tt.cpu, tt.delivered); got != tt.want {
			t.Errorf("cpuPerMillion(%v, %d) = %v, want %v", tt.cpu, tt.delivered, got, tt.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
	}{
		{[]string{"-target", "json"}, true},
		{[]string{"-target", "nchan", "-clients", "10", "-rooms", "10"}, true},
		{[]string{"-target", "mqtt"}, false},
		{[]string{"-url", "http://127.0.0.1:8080"}, false},
		{[]string{"-clients", "5", "-rooms", "6"}, false},
		{[]string{"-clients", "10", "-rooms", "2", "-slow", "8"}, true},
		{[]string{"-clients", "10", "-rooms", "2", "-slow", "9"}, false},
		{[]string{"-idle"}, false},
		{[]string{"-idle", "-pid", "1"}, true},
		{[]string{"-rate", "0"}, false},
		{[]string{"-reader", "gorilla"}, true},
		{[]string{"extra"}, false},
	}
	for _, tt := range tests {
		_, err := parseFlags(tt.args)
		if (err == nil) != tt.ok {
			t.Errorf("parseFlags(%q): err = %v, want ok=%v", tt.args, err, tt.ok)
		}
	}
	cfg, err := parseFlags([]string{"-size", "1"})
	if err != nil || cfg.size != minPayloadSize {
		t.Errorf("-size 1: got %d, %v; want it raised to %d", cfg.size, err, minPayloadSize)
	}
}
