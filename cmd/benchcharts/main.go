// Command benchcharts draws the results of bench/compare.sh as SVG charts:
// deliveries per second at saturation per server, latency percentiles per
// load, and server memory per idle connection. It reads the results file
// (one JSON object per run, as compare.sh writes it), takes the median of
// the reps of each scenario and server, and writes deliveries.svg,
// latency.svg and memory.svg into -out. It needs nothing but the standard
// library and the results.
//
//	benchcharts -in /tmp/run/results.jsonl -out docs/benchmarks
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// run is the part of one result line the charts use.
type run struct {
	Scenario string   `json:"scenario"`
	Server   string   `json:"server"`
	Failed   bool     `json:"failed"`
	Fields   runField `json:"-"`
}

// runField is a result line's numeric fields by name.
type runField map[string]float64

func main() {
	in := flag.String("in", "results.jsonl", "the results file of bench/compare.sh")
	out := flag.String("out", ".", "folder the SVG files are written to")
	flag.Parse()
	runs, err := readRuns(*in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchcharts:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "benchcharts:", err)
		os.Exit(1)
	}
	for name, c := range charts(runs) {
		path := filepath.Join(*out, name)
		if err := os.WriteFile(path, []byte(c.svg()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "benchcharts:", err)
			os.Exit(1)
		}
		fmt.Println(path)
	}
}

// readRuns reads every result line of the file.
func readRuns(path string) ([]run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var runs []run
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var r run
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		var all map[string]any
		if err := json.Unmarshal(sc.Bytes(), &all); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		r.Fields = runField{}
		for k, v := range all {
			if n, ok := v.(float64); ok {
				r.Fields[k] = n
			}
		}
		runs = append(runs, r)
	}
	return runs, sc.Err()
}

// median returns the median of field over the runs of scenario and server
// that have it, and whether any has.
func median(runs []run, scenario, server, field string) (float64, bool) {
	var vs []float64
	for _, r := range runs {
		if r.Scenario != scenario || r.Server != server || r.Failed {
			continue
		}
		if v, ok := r.Fields[field]; ok {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return 0, false
	}
	sort.Float64s(vs)
	return vs[(len(vs)-1)/2], true
}

// servers lists the servers of the runs in the order compare.sh runs them.
func servers(runs []run) []string {
	order := []string{"ours", "ours-raw", "nchan", "socketio"}
	seen := map[string]bool{}
	for _, r := range runs {
		seen[r.Server] = true
	}
	var out []string
	for _, s := range order {
		if seen[s] {
			out = append(out, s)
		}
	}
	return out
}

// serverLabel is how a chart names a server.
var serverLabel = map[string]string{
	"ours": "caddyrooms json", "ours-raw": "caddyrooms raw", "nchan": "Nchan", "socketio": "Socket.IO 4",
}
