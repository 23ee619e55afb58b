// Command redisops measures what the cluster's operations cost Redis: for
// a known number of joins, publishes, leaves and heartbeats, made through
// two caddyrooms nodes that share one Redis, it reads the Redis commands
// run (INFO commandstats, commands run by scripts included), the round
// trips (data segments the kernel saw arrive on Redis's sockets), the
// bytes to and from Redis (the sockets' byte counters) and Redis's CPU
// time (INFO cpu), and prints them per operation as a Markdown table.
//
// The nodes serve the json protocol under /ws/ROOM (as bench/Caddyfile.tmpl
// does), with a max_rooms of at least -n. Example:
//
//	redisops -a ws://127.0.0.1:18090 -b ws://127.0.0.1:18091 -redis-port 16390 -n 1000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	if err := run1(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "redisops:", err)
		os.Exit(1)
	}
}

// options is the command line.
type options struct {
	a, b     string
	port     int
	n        int
	idle     time.Duration
	prefix   string
	timeout  time.Duration
	settle   time.Duration
	size     int
	jsonFile string
}

// parse reads the command line.
func parse(args []string) (options, error) {
	fs := flag.NewFlagSet("redisops", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.a, "a", "", "node A's base URL, ws://HOST:PORT")
	fs.StringVar(&o.b, "b", "", "node B's base URL, ws://HOST:PORT")
	fs.IntVar(&o.port, "redis-port", 0, "the port of the nodes' Redis on 127.0.0.1")
	fs.IntVar(&o.n, "n", 1000, "operations per phase (rooms joined and left, messages published)")
	fs.DurationVar(&o.idle, "idle", 21*time.Second, "length of each heartbeat phase")
	fs.StringVar(&o.prefix, "prefix", fmt.Sprintf("ops%d", time.Now().UnixNano()), "room name prefix")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "longest wait for the answers of one phase")
	fs.DurationVar(&o.settle, "settle", 300*time.Millisecond, "wait after a phase's last answer before reading Redis")
	fs.IntVar(&o.size, "size", 100, "bytes of each message's data (a JSON string)")
	fs.StringVar(&o.jsonFile, "json", "", "also write the phases as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case !strings.HasPrefix(o.a, "ws://") || !strings.HasPrefix(o.b, "ws://"):
		return o, fmt.Errorf("-a and -b: want ws://HOST:PORT")
	case o.port <= 0:
		return o, fmt.Errorf("-redis-port is needed")
	case o.n < 1 || o.size < 2 || o.idle <= 0:
		return o, fmt.Errorf("-n, -size and -idle must be positive (-size at least 2)")
	}
	return o, nil
}

// run1 connects, runs every phase and prints the table.
func run1(args []string, out io.Writer) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(o.port), PoolSize: 1})
	defer rdb.Close()
	self, err := rdb.ClientInfo(ctx).Result()
	if err != nil {
		return fmt.Errorf("CLIENT INFO: %w", err)
	}
	r := &run{
		ctx:     ctx,
		rdbSnap: func() (snapshot, error) { return takeSnapshot(ctx, rdb, o.port, self.Addr) },
		n:       o.n, timeout: o.timeout, settle: o.settle,
		payload: strings.Repeat("x", o.size-2),
	}
	for i := 0; i < o.n; i++ {
		r.rooms = append(r.rooms, fmt.Sprintf("%sr%d", o.prefix, i))
	}
	if err := r.connect(o); err != nil {
		return err
	}
	defer func() { r.a1.close(); r.a2.close(); r.b1.close() }()
	if err := r.steps(o.idle); err != nil {
		return err
	}
	printTable(out, r.phases)
	if o.jsonFile == "" {
		return nil
	}
	b, err := json.MarshalIndent(r.phases, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(o.jsonFile, append(b, '\n'), 0o644)
}

// connect opens a1 and a2 on node A and b1 on node B, each a member of
// one home room.
func (r *run) connect(o options) error {
	home := o.prefix + "home"
	var err error
	if r.a1, err = dialClient("a1", o.a, home, o.timeout); err != nil {
		return err
	}
	if r.a2, err = dialClient("a2", o.a, home, o.timeout); err != nil {
		return err
	}
	r.b1, err = dialClient("b1", o.b, home, o.timeout)
	return err
}

// printTable writes the phases as a Markdown table, and the bytes of one
// message from Redis to one more subscribed node.
func printTable(out io.Writer, phases []phase) {
	fmt.Fprintln(out, "| operation | ops | Redis commands per op | of which | round trips per op | bytes to Redis per op | bytes from Redis per op | Redis CPU µs per op | heartbeats in the phase |")
	fmt.Fprintln(out, "|---|---:|---:|---|---:|---:|---:|---:|---:|")
	var one, two *phase
	for i, p := range phases {
		cpu := fmt.Sprintf("%.1f", p.CPUMicros)
		if p.Idle {
			cpu = "-" // Redis's own timers over the idle phase, not the heartbeats' cost
		}
		fmt.Fprintf(out, "| %s | %d | %s | %s | %s | %.0f | %.0f | %s | %d |\n", p.Name, p.Ops, trim(p.Commands),
			breakdown(p.Calls), trim(p.RoundTrips), p.BytesIn, p.BytesOut, cpu, p.Heartbeats)
		switch {
		case strings.HasPrefix(p.Name, "publish: 1 node"):
			one = &phases[i]
		case strings.HasPrefix(p.Name, "publish: 2 nodes"):
			two = &phases[i]
		}
	}
	if one != nil && two != nil {
		fmt.Fprintf(out, "\nBytes of one message from Redis to one more subscribed node (publish with 2 nodes minus with 1): %.0f\n",
			two.BytesOut-one.BytesOut)
	}
}
