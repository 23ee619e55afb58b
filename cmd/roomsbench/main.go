// Command roomsbench is a WebSocket load client for room (pub/sub) servers:
// caddyrooms' json and raw protocols, Nchan and Socket.IO 4. It connects
// -clients clients spread round-robin over -rooms rooms, lets one member of
// each room publish -rate messages a second, and reports deliveries per
// second, lost deliveries, publish-to-receive latency and the server's CPU
// and memory (read from /proc for -pid and its children).
//
// With -idle it instead connects the clients, lets them sit in their rooms
// and reports the server's resident memory per connection. With -fill it
// reports how long connecting and joining every client takes, and what
// presence frames that costs them.
//
// Example (server pinned to core 0, client to core 1):
//
//	taskset -c 1 roomsbench -target json -url ws://127.0.0.1:8080 \
//	    -clients 1000 -rooms 10 -rate 100 -size 100 -duration 10s -pid 1234
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// config is the parsed command line.
type config struct {
	target      *target
	baseURL     string
	urls        []string // -url split at commas; clientURL picks one per client
	clients     int
	rooms       int
	rate        float64 // publishes per second per room
	size        int     // payload bytes
	duration    time.Duration
	warmup      time.Duration
	drain       time.Duration // longest wait for in-flight messages after the run
	pid         int
	idle        bool
	fill        bool
	pathPrefix  string // URL path before the room name; "" is the target's
	slow        int
	jsonOut     bool
	roomPrefix  string
	dialTimeout time.Duration
	dialers     int // concurrent dials while connecting
	quiet       bool
	reader      string // "epoll" or "gorilla"
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "roomsbench:", err)
		os.Exit(2)
	}
	if lim, err := raiseFileLimit(); err != nil {
		fmt.Fprintln(os.Stderr, "roomsbench: raising RLIMIT_NOFILE:", err)
	} else if uint64(cfg.clients)+64 > lim {
		fmt.Fprintf(os.Stderr, "roomsbench: %d clients need more file descriptors than the limit %d\n", cfg.clients, lim)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The run bounds itself; the watchdog is the last resort if a server
	// wedges a close or a write.
	limit := cfg.dialTimeout + time.Duration(cfg.clients/cfg.dialers+1)*cfg.dialTimeout/4 +
		cfg.warmup + cfg.duration + cfg.drain + 30*time.Second
	watchdog := time.AfterFunc(limit, func() {
		fmt.Fprintf(os.Stderr, "roomsbench: watchdog: still running after %s, exiting\n", limit)
		os.Exit(3)
	})
	defer watchdog.Stop()

	var res *result
	switch {
	case cfg.idle:
		res, err = runIdle(ctx, cfg)
	case cfg.fill:
		res, err = runFill(ctx, cfg)
	default:
		res, err = runLoad(ctx, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "roomsbench:", err)
		os.Exit(1)
	}
	res.print(os.Stdout)
	if cfg.jsonOut {
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
	}
}

// parseFlags reads the command line into a config and checks it.
func parseFlags(args []string) (*config, error) {
	fs := flag.NewFlagSet("roomsbench", flag.ContinueOnError)
	var cfg config
	targetName := fs.String("target", "json", "server protocol: "+targetNames())
	fs.StringVar(&cfg.baseURL, "url", "ws://127.0.0.1:8080", "base URL of the server (scheme, host and port); several, comma-separated, spread each room's members over them")
	fs.IntVar(&cfg.clients, "clients", 1000, "number of connections")
	fs.IntVar(&cfg.rooms, "rooms", 10, "number of rooms; clients are spread over them round-robin")
	fs.Float64Var(&cfg.rate, "rate", 10, "publishes per second per room (one publisher per room)")
	fs.IntVar(&cfg.size, "size", 100, fmt.Sprintf("payload bytes (at least %d)", minPayloadSize))
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "time before measuring (idle mode: settle time before reading RSS)")
	fs.DurationVar(&cfg.drain, "drain", 3*time.Second, "longest wait for in-flight messages after the measured time")
	fs.IntVar(&cfg.pid, "pid", 0, "server PID: its /proc CPU time and VmRSS (children included) are reported")
	fs.BoolVar(&cfg.idle, "idle", false, "idle mode: connect and join the clients, wait, report server RSS per connection (needs -pid)")
	fs.BoolVar(&cfg.fill, "fill", false, "fill mode: connect and join the clients, wait until the server is quiet for -warmup, report the time and the frames without payload")
	fs.StringVar(&cfg.pathPrefix, "path", "", "URL path before the room name, e.g. /ws/ (default: the target's)")
	fs.IntVar(&cfg.slow, "slow", 0, "this many clients (never publishers) never read: slow consumers")
	fs.BoolVar(&cfg.jsonOut, "json", false, "also print the result as one JSON line")
	fs.StringVar(&cfg.roomPrefix, "room-prefix", "bench", "room names are this prefix followed by a number")
	fs.DurationVar(&cfg.dialTimeout, "dial-timeout", 10*time.Second, "timeout of one connect (TCP, WebSocket handshake and join)")
	fs.IntVar(&cfg.dialers, "dialers", 64, "concurrent connects")
	fs.BoolVar(&cfg.quiet, "q", false, "no progress lines on stderr")
	fs.StringVar(&cfg.reader, "reader", "epoll", "receive path: epoll (one busy-polling loop reads every socket and publishes) or gorilla (a goroutine per client, publishers on timers)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cfg.target = targets[*targetName]
	urls, urlErr := parseURLs(cfg.baseURL)
	cfg.urls = urls
	if urlErr == nil {
		cfg.baseURL = urls[0]
	}
	switch {
	case cfg.target == nil:
		return nil, fmt.Errorf("-target %q: want %s", *targetName, targetNames())
	case urlErr != nil:
		return nil, urlErr
	case cfg.clients < 1 || cfg.rooms < 1 || cfg.rooms > cfg.clients:
		return nil, fmt.Errorf("need 1 <= -rooms <= -clients")
	case cfg.slow < 0 || cfg.slow > cfg.clients-cfg.rooms:
		return nil, fmt.Errorf("-slow %d: at most -clients minus -rooms (publishers always read)", cfg.slow)
	case cfg.idle && cfg.fill:
		return nil, fmt.Errorf("-idle and -fill are separate modes")
	case !cfg.idle && !cfg.fill && (cfg.rate <= 0 || cfg.duration <= 0):
		return nil, fmt.Errorf("-rate and -duration must be positive")
	case cfg.idle && cfg.pid == 0:
		return nil, fmt.Errorf("-idle needs -pid")
	case cfg.reader != "epoll" && cfg.reader != "gorilla":
		return nil, fmt.Errorf("-reader %q: want epoll or gorilla", cfg.reader)
	case cfg.dialers < 1 || cfg.dialTimeout <= 0:
		return nil, fmt.Errorf("-dialers and -dial-timeout must be positive")
	}
	if cfg.size < minPayloadSize {
		cfg.size = minPayloadSize
	}
	return &cfg, nil
}
