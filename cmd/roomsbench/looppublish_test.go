package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// A client frame made by the busy loop parses back, unmasked, to what was
// sent, at each of the three length encodings.
func TestAppendClientFrame(t *testing.T) {
	tests := []struct {
		name string
		size int
		head int // header bytes, mask included
	}{
		{"short", 100, 6},
		{"16-bit length", 4000, 8},
		{"64-bit length", 70000, 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := bytes.Repeat([]byte("ab"), tt.size/2)
			b := appendClientFrame(nil, opText, payload, [4]byte{1, 2, 3, 4})
			if len(b) != tt.head+len(payload) {
				t.Fatalf("frame of %d bytes, want %d", len(b), tt.head+len(payload))
			}
			if bytes.Equal(b[tt.head:], payload) {
				t.Fatal("the payload went unmasked")
			}
			f, n, err := parseFrame(b)
			if err != nil || n != len(b) || !f.fin || f.opcode != opText || !bytes.Equal(f.payload, payload) {
				t.Fatalf("parsed %d of %d bytes, fin %v, opcode %d, err %v", n, len(b), f.fin, f.opcode, err)
			}
		})
	}
}

// fillLoop names each reason the client may have been the limit, and
// none when the loop kept up.
func TestFillLoop(t *testing.T) {
	tests := []struct {
		name     string
		busy     time.Duration // of each 10 µs turn
		cycle    time.Duration
		late     time.Duration
		cpu      float64
		behind   uint64
		gcs      uint64
		wantWhy  []string
		wantFlag bool
	}{
		{"kept up", 2 * time.Microsecond, 10 * time.Microsecond, 20 * time.Microsecond, 1, 0, 0, nil, false},
		{"busy", 9 * time.Microsecond, 10 * time.Microsecond, 0, 1, 0, 0, []string{"had work 90%"}, true},
		{"slow cycles", 2 * time.Microsecond, 5 * time.Millisecond, 0, 1, 0, 0, []string{"cycles 5"}, true},
		{"off its core", 2 * time.Microsecond, 10 * time.Microsecond, 0, 0.9, 0, 0, []string{"off its core 10%"}, true},
		{"late and behind", 2 * time.Microsecond, 10 * time.Microsecond, 2 * time.Millisecond, 1, 3, 0,
			[]string{"publishes 2000 µs late", "3 publishes skipped"}, true},
		{"collected", 2 * time.Microsecond, 10 * time.Microsecond, 0, 1, 0, 2, []string{"2 garbage collections"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l loopStats
			for i := 0; i < 100; i++ {
				l.cycle.Record(tt.cycle)
				l.late.Record(tt.late)
				l.wallNanos.Add(int64(10 * time.Microsecond))
				l.busyNanos.Add(int64(tt.busy))
			}
			r := &result{ClientCPUShare: tt.cpu, PublishesBehind: tt.behind}
			r.fillLoop(&l, tt.gcs)
			if r.ClientLimited != tt.wantFlag {
				t.Errorf("limited %v (%q), want %v", r.ClientLimited, r.ClientLimitWhy, tt.wantFlag)
			}
			for _, w := range tt.wantWhy {
				if !strings.Contains(r.ClientLimitWhy, w) {
					t.Errorf("why %q lacks %q", r.ClientLimitWhy, w)
				}
			}
		})
	}
}
