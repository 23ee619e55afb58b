package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// A snapshot is what Redis has done so far: calls per command (commands
// run by scripts included, as INFO commandstats counts them) and CPU
// seconds, and from the kernel, over Redis's sockets other than the one
// taking snapshots: the data segments received (one per request write, so
// one per round trip, a pipeline counting once) and the bytes received and
// sent.
type snapshot struct {
	calls     map[string]int64
	cpu       float64 // used_cpu_user + used_cpu_sys, seconds
	segsIn    int64
	bytesIn   int64
	bytesSent int64
}

// takeSnapshot reads INFO commandstats and cpu in one request, then the
// sockets of port but self (the peer address of the snapshot connection).
func takeSnapshot(ctx context.Context, rdb *redis.Client, port int, self string) (snapshot, error) {
	text, err := rdb.Info(ctx, "commandstats", "cpu").Result()
	if err != nil {
		return snapshot{}, fmt.Errorf("INFO: %w", err)
	}
	s, err := parseInfo(text)
	if err != nil {
		return snapshot{}, err
	}
	out, err := exec.CommandContext(ctx, "ss", "-tinH", "state", "established", "sport", "=", ":"+strconv.Itoa(port)).Output()
	if err != nil {
		return snapshot{}, fmt.Errorf("ss: %w", err)
	}
	s.segsIn, s.bytesIn, s.bytesSent = parseSS(string(out), self)
	return s, nil
}

// parseInfo reads the fields a snapshot needs from an INFO answer.
func parseInfo(text string) (snapshot, error) {
	s := snapshot{calls: map[string]int64{}}
	var user, sys float64
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok {
			continue
		}
		var err error
		switch {
		case strings.HasPrefix(k, "cmdstat_"):
			s.calls[strings.TrimPrefix(k, "cmdstat_")], err = field(v, "calls")
		case k == "used_cpu_user":
			user, err = strconv.ParseFloat(v, 64)
			seen++
		case k == "used_cpu_sys":
			sys, err = strconv.ParseFloat(v, 64)
			seen++
		}
		if err != nil {
			return snapshot{}, fmt.Errorf("INFO line %q: %w", sc.Text(), err)
		}
	}
	if seen != 2 {
		return snapshot{}, fmt.Errorf("INFO answer lacks used_cpu_user or used_cpu_sys")
	}
	s.cpu = user + sys
	return s, nil
}

// field returns the integer value of name in a commandstats value such as
// "calls=3,usec=12,usec_per_call=4.00".
func field(v, name string) (int64, error) {
	for _, kv := range strings.Split(v, ",") {
		if k, n, ok := strings.Cut(kv, "="); ok && k == name {
			return strconv.ParseInt(n, 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in %q", name, v)
}

// parseSS sums data_segs_in, bytes_received and bytes_sent over the
// sockets of `ss -tinH` output (a line naming the socket's addresses, then
// an indented line of its counters), leaving out the socket whose peer is
// skip.
func parseSS(text, skip string) (segsIn, bytesIn, bytesSent int64) {
	skipping := false
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, " ") {
			skipping = f[len(f)-1] == skip
			continue
		}
		if skipping {
			continue
		}
		for _, w := range f {
			k, v, ok := strings.Cut(w, ":")
			n, err := strconv.ParseInt(v, 10, 64)
			if !ok || err != nil {
				continue
			}
			switch k {
			case "data_segs_in":
				segsIn += n
			case "bytes_received":
				bytesIn += n
			case "bytes_sent":
				bytesSent += n
			}
		}
	}
	return segsIn, bytesIn, bytesSent
}

// A delta is what Redis did between two snapshots, the snapshots' own
// INFO requests left out.
type delta struct {
	calls      map[string]int64 // per command, without info
	commands   int64
	roundTrips int64
	bytesIn    int64
	bytesOut   int64
	cpu        float64
}

// since returns the work from a to b.
func since(a, b snapshot) delta {
	d := delta{calls: map[string]int64{}}
	for cmd, n := range b.calls {
		if cmd == "info" {
			continue
		}
		if n -= a.calls[cmd]; n != 0 {
			d.calls[cmd] = n
			d.commands += n
		}
	}
	d.roundTrips = b.segsIn - a.segsIn
	d.bytesIn = b.bytesIn - a.bytesIn
	d.bytesOut = b.bytesSent - a.bytesSent
	d.cpu = b.cpu - a.cpu
	return d
}
