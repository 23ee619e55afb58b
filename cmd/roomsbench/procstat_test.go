package main

import "testing"

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want float64
		ok   bool
	}{
		{"plain", "1234 (caddy) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0", 3.0, true},
		{"name with spaces and parens", "42 (nginx: worker (x)) S 41 41 41 0 -1 0 0 0 0 0 7 3 0 0", 0.10, true},
		{"no parens", "42 nginx S", 0, false},
		{"short", "42 (a) S 1 2", 0, false},
	}
	for _, tt := range tests {
		got, err := parseStatCPU([]byte(tt.stat))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: got %v, %v; want %v, ok=%v", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		status string
		want   int64
		ok     bool
	}{
		{"Name:\tcaddy\nVmPeak:\t 9 kB\nVmRSS:\t   40960 kB\nThreads: 8\n", 40960 * 1024, true},
		{"Name:\tkthreadd\nThreads: 1\n", 0, false},
		{"VmRSS:\t12 MB\n", 0, false},
	}
	for _, tt := range tests {
		got, err := parseVmRSS([]byte(tt.status))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseVmRSS(%q) = %v, %v; want %v", tt.status, got, err, tt.want)
		}
	}
}

func TestParseBusy(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	stat := "cpu  100 20 30 5000 70 4 6 10 99 99\ncpu0 1 2 3 4 5 6 7 8 9 10\n"
	got, err := parseBusy([]byte(stat))
	if err != nil || got != 1.70 {
		t.Errorf("parseBusy = %v, %v; want 1.70", got, err)
	}
	if _, err := parseBusy([]byte("intr 1 2 3\n")); err == nil {
		t.Error("parseBusy accepted a file without a cpu line")
	}
}

func TestProcessTreeIncludesSelf(t *testing.T) {
	tree := processTree(1)
	if len(tree) == 0 || tree[0] != 1 {
		t.Errorf("processTree(1) = %v", tree)
	}
}
