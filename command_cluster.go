package caddyrooms

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"text/tabwriter"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// clusterCommand is `caddy rooms cluster`: the broker's health, from
// GET /rooms-cluster.
func clusterCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cluster",
		Short: "Shows the broker of each hub: its node, state and last error (exit status 1 while one is down)",
		Args:  argsWithUsage(0, 0),
		RunE:  caddycmd.WrapCommandFuncForCobra(cmdRoomsCluster),
	}
}

func cmdRoomsCluster(fl caddycmd.Flags) (int, error) {
	body, status, err := roomsRequestStatus(fl, http.MethodGet, adminClusterPath)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if fl.Bool("json") {
		if _, err := os.Stdout.Write(body); err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		return healthExit(status)
	}
	var h clusterHealth
	if err := json.Unmarshal(body, &h); err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("reading the answer: %v", err)
	}
	names := make([]string, 0, len(h.Hubs))
	for name := range h.Hubs {
		names = append(names, name)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HUB\tNODE\tSTATE\tSINCE\tROOMS\tNODES\tLAST ERROR")
	for _, name := range names {
		b := h.Hubs[name]
		last := b.LastError
		if last == "" {
			last = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", printable(name), printable(b.Node), b.State,
			b.Since.Local().Format(joinedFormat), b.Rooms, b.Nodes, last)
	}
	_ = tw.Flush()
	return healthExit(status)
}

// healthExit ends the command: success while every broker is up (HTTP
// 200), else exit status 1 with an error saying so.
func healthExit(status int) (int, error) {
	if status == http.StatusOK {
		return caddy.ExitCodeSuccess, nil
	}
	return caddy.ExitCodeFailedStartup, fmt.Errorf("a broker is down")
}

// roomsRequestStatus is roomsRequest that also answers the body of a 503,
// which says which broker is down, with its status.
func roomsRequestStatus(fl caddycmd.Flags, method, uri string) ([]byte, int, error) {
	addr, err := caddycmd.DetermineAdminAPIAddress(fl.String("address"), nil, fl.String("config"), fl.String("adapter"))
	if err != nil {
		return nil, 0, fmt.Errorf("finding the admin endpoint: %v", err)
	}
	resp, err := caddycmd.AdminAPIRequest(addr, method, uri, nil, nil)
	if err != nil {
		if m := caddyResponded.FindStringSubmatch(err.Error()); m != nil && m[1] == "503" {
			return []byte(m[2]), http.StatusServiceUnavailable, nil
		}
		return nil, 0, explainAdminError(addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the answer of %s: %v", addr, err)
	}
	return b, resp.StatusCode, nil
}
