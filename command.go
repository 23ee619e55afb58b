package caddyrooms

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddyrooms/caddyrooms/hub"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "rooms",
		Usage: "list|show|history|publish|kick|empty|cluster [--address <interface>] [--config <path> [--adapter <name>]] [--hub <name>] [--json]",
		Short: "Lists and manages the rooms of a running Caddy",
		Long:  roomsLong,
		CobraFunc: func(cmd *cobra.Command) {
			pf := cmd.PersistentFlags()
			pf.String("address", "", "The address of the admin API endpoint, if not the default")
			pf.StringP("config", "c", "", "Configuration file to read the admin address from, if --address is not used")
			pf.StringP("adapter", "a", "", "Name of the config adapter (when --config is used)")
			pf.String("hub", DefaultHub, "The hub whose rooms to manage")
			pf.Bool("json", false, "Print the API's JSON instead of a table")

			list := &cobra.Command{
				Use:   "list [--prefix <p>] [--after <room>] [--limit <n>]",
				Short: "Lists rooms, sorted by name, with their member counts",
				Args:  argsWithUsage(0, 0),
				RunE:  caddycmd.WrapCommandFuncForCobra(cmdRoomsList),
			}
			list.Flags().String("prefix", "", "Only rooms whose names start with this")
			list.Flags().String("after", "", "Only rooms whose names sort after this (paging)")
			list.Flags().Int("limit", 0, "At most this many rooms (0: all)")

			kick := &cobra.Command{
				Use:   "kick <room> <client> [--reconnect]",
				Short: "Disconnects a client of a room (close code 4000: do not reconnect; with --reconnect 1008)",
				Args:  argsWithUsage(2, 2),
				RunE:  caddycmd.WrapCommandFuncForCobra(cmdRoomsKick),
			}
			kick.Flags().Bool("reconnect", false, "Close with 1008, after which the client reconnects")

			cmd.AddCommand(list, historyCommand(), clusterCommand(), kick,
				&cobra.Command{
					Use:   "show <room>",
					Short: "Shows a room and its clients",
					Args:  argsWithUsage(1, 1),
					RunE:  caddycmd.WrapCommandFuncForCobra(cmdRoomsShow),
				},
				&cobra.Command{
					Use:   "publish <room> [<json>|-]",
					Short: "Publishes JSON data to every member of a room (from stdin without <json>)",
					Args:  argsWithUsage(1, 2),
					RunE:  caddycmd.WrapCommandFuncForCobra(cmdRoomsPublish),
				},
				&cobra.Command{
					Use:   "empty <room>",
					Short: "Makes every member leave a room; connections stay open",
					Args:  argsWithUsage(1, 1),
					RunE:  caddycmd.WrapCommandFuncForCobra(cmdRoomsEmpty),
				},
			)
		},
	})
}

// roomsLong is the help text of `caddy rooms`.
const roomsLong = `
Talks to the admin API of a running Caddy (admin.api.rooms) to list rooms,
show a room's clients and recent messages, publish, disconnect, empty a room.

  caddy rooms list [--prefix <p>] [--after <room>] [--limit <n>]
  caddy rooms show <room>
  caddy rooms history <room> [--since <seq>] [--limit <n>]
  caddy rooms publish <room> [<json>]     (the JSON data; from stdin when absent or -)
  caddy rooms kick <room> <client> [--reconnect]
  caddy rooms empty <room>
  caddy rooms cluster                     (the broker's health; exit status 1 while it is down)

The admin endpoint is --address if given, else the admin address of the
--config file (adapted with --adapter), else localhost:2019, as for
'caddy reload' and 'caddy stop'. --hub names a hub other than 'default'.
Output is a table for people; --json prints the API's JSON for scripts.
`

// joinedFormat is how `show` prints when a client joined: local time, with
// its zone.
const joinedFormat = time.DateTime + " MST"

// argsWithUsage accepts min to max arguments; otherwise its error shows the
// subcommand's usage line.
func argsWithUsage(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < min || len(args) > max {
			return fmt.Errorf("usage: %s", cmd.UseLine())
		}
		return nil
	}
}

func cmdRoomsList(fl caddycmd.Flags) (int, error) {
	q := url.Values{}
	for _, name := range []string{"prefix", "after"} {
		if v := fl.String(name); v != "" {
			q.Set(name, v)
		}
	}
	if n := fl.Int("limit"); n != 0 {
		q.Set("limit", fmt.Sprint(n))
	}
	var list roomList
	if done, err := getJSON(fl, hubPath(fl.String("hub")), q, &list); done || err != nil {
		return exitCode(err), err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	if len(list.Rooms) == 0 {
		fmt.Println("no rooms")
		return caddy.ExitCodeSuccess, nil
	}
	fmt.Fprintln(tw, "ROOM\tMEMBERS")
	for _, r := range list.Rooms {
		fmt.Fprintf(tw, "%s\t%d\n", printable(r.Name), r.Members)
	}
	_ = tw.Flush()
	if list.Next != "" {
		fmt.Fprintf(os.Stderr, "more rooms: add --after %q\n", list.Next)
	}
	return caddy.ExitCodeSuccess, nil
}

func cmdRoomsShow(fl caddycmd.Flags) (int, error) {
	room := fl.Arg(0)
	body, err := roomsRequest(fl, http.MethodGet, roomPath(fl.String("hub"), room), nil)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if fl.Bool("json") {
		return printRaw(body)
	}
	var d shownRoom
	if err := json.Unmarshal(body, &d); err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("reading the answer: %v", err)
	}
	fmt.Printf("room %s: %d members, %d messages\n\n", printable(d.Name), d.Members, d.Seq)
	printClients(d.Clients)
	return caddy.ExitCodeSuccess, nil
}

// shownRoom is what `show` reads of GET /rooms/{room}: the room and its
// clients, each with its node when a broker spans several.
type shownRoom struct {
	Name    string        `json:"name"`
	Members int           `json:"members"`
	Seq     uint64        `json:"seq"`
	Clients []shownClient `json:"clients"`
}

type shownClient struct {
	hub.MemberInfo
	Node string `json:"node,omitempty"`
}

// printClients prints a room's clients as a table, with a NODE column
// when they come from a cluster.
func printClients(clients []shownClient) {
	clustered := slices.ContainsFunc(clients, func(c shownClient) bool { return c.Node != "" })
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	if clustered {
		fmt.Fprint(tw, "NODE\t")
	}
	fmt.Fprintln(tw, "CLIENT\tUSER\tREMOTE ADDRESS\tJOINED")
	for _, c := range clients {
		user := printable(c.User)
		if user == "" {
			user = "-"
		}
		if clustered {
			fmt.Fprintf(tw, "%s\t", printable(c.Node))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", printable(c.ID), user, c.RemoteAddr, c.JoinedAt.Local().Format(joinedFormat))
	}
	_ = tw.Flush()
}

// maxPublishInput bounds what publish reads from stdin; the server's limit
// (the hub's max_message_size) is usually far lower.
const maxPublishInput = 64 << 20

func cmdRoomsPublish(fl caddycmd.Flags) (int, error) {
	room, data := fl.Arg(0), fl.Arg(1)
	if fl.NArg() < 2 || data == "-" {
		b, err := io.ReadAll(io.LimitReader(os.Stdin, maxPublishInput))
		if err != nil {
			return caddy.ExitCodeFailedStartup, fmt.Errorf("reading the data from stdin: %v", err)
		}
		data = string(b)
	}
	if !json.Valid([]byte(data)) {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("the data must be JSON: to send text, quote it, as in '\"hello\"'")
	}
	body, err := roomsRequest(fl, http.MethodPost, roomPath(fl.String("hub"), room)+"/messages", strings.NewReader(data))
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if fl.Bool("json") {
		return printRaw(body)
	}
	var p publishResult
	if err := json.Unmarshal(body, &p); err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("reading the answer: %v", err)
	}
	fmt.Printf("published to %s: seq %d, delivered to %d members\n", printable(room), p.Seq, p.Delivered)
	return caddy.ExitCodeSuccess, nil
}

func cmdRoomsKick(fl caddycmd.Flags) (int, error) {
	room, client := fl.Arg(0), fl.Arg(1)
	uri := roomPath(fl.String("hub"), room) + "/clients/" + url.PathEscape(client)
	if fl.Bool("reconnect") {
		uri += "?reconnect=true"
	}
	if _, err := roomsRequest(fl, http.MethodDelete, uri, nil); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if !fl.Bool("json") {
		fmt.Printf("disconnected %s from %s\n", printable(client), printable(room))
	}
	return caddy.ExitCodeSuccess, nil
}

func cmdRoomsEmpty(fl caddycmd.Flags) (int, error) {
	room := fl.Arg(0)
	if _, err := roomsRequest(fl, http.MethodDelete, roomPath(fl.String("hub"), room), nil); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if !fl.Bool("json") {
		fmt.Printf("emptied %s\n", printable(room))
	}
	return caddy.ExitCodeSuccess, nil
}

// hubPath is the admin path of a hub's room list.
func hubPath(hubName string) string {
	if hubName == "" || hubName == DefaultHub {
		return adminPrefix
	}
	return adminPrefix + "@" + url.PathEscape(hubName) + "/"
}

// roomPath is the admin path of a room. Besides what url.PathEscape
// escapes, a leading @ (which would name a hub) and the names . and ..
// (which HTTP clients and servers resolve) are escaped.
func roomPath(hubName, room string) string {
	e := url.PathEscape(room)
	switch {
	case strings.HasPrefix(e, "@"):
		e = "%40" + e[1:]
	case e == "." || e == "..":
		e = strings.ReplaceAll(e, ".", "%2E")
	}
	return hubPath(hubName) + e
}

// roomsRequest sends one request to the admin endpoint, as `caddy reload`
// does, and returns the answer's body. Its errors say what went wrong in
// words: Caddy not running, or the API's own error message.
func roomsRequest(fl caddycmd.Flags, method, uri string, body io.Reader) ([]byte, error) {
	addr, err := caddycmd.DetermineAdminAPIAddress(fl.String("address"), nil, fl.String("config"), fl.String("adapter"))
	if err != nil {
		return nil, fmt.Errorf("finding the admin endpoint: %v", err)
	}
	resp, err := caddycmd.AdminAPIRequest(addr, method, uri, nil, body)
	if err != nil {
		return nil, explainAdminError(addr, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %v", addr, err)
	}
	return b, nil
}

// caddyResponded matches the error AdminAPIRequest makes of an HTTP error.
var caddyResponded = regexp.MustCompile(`^caddy responded with error: HTTP (\d+): (?s)(.*)$`)

// explainAdminError turns AdminAPIRequest's errors into messages for
// people: the API's {"error": ...} text, or a hint that Caddy is not
// running or listens elsewhere.
func explainAdminError(addr string, err error) error {
	msg := err.Error()
	if m := caddyResponded.FindStringSubmatch(msg); m != nil {
		var apiErr struct {
			Error string `json:"error"`
		}
		if json.Unmarshal([]byte(m[2]), &apiErr) == nil && apiErr.Error != "" {
			if m[1] == "404" && strings.HasPrefix(apiErr.Error, "no such endpoint") {
				return fmt.Errorf("%s (HTTP %s): is the rooms module in this Caddy?", apiErr.Error, m[1])
			}
			return fmt.Errorf("%s (HTTP %s)", apiErr.Error, m[1])
		}
		return fmt.Errorf("HTTP %s: %s", m[1], strings.TrimSpace(m[2]))
	}
	if strings.HasPrefix(msg, "performing request:") {
		return fmt.Errorf("cannot reach Caddy's admin endpoint at %s: is Caddy running, and is that its admin address (--address, --config)? (%s)",
			addr, strings.TrimPrefix(msg, "performing request: "))
	}
	return err
}

// printRaw prints an API answer as it came.
// getJSON GETs uri with the query q. With --json it prints the answer as it
// came and reports done; else it decodes the answer into v.
func getJSON(fl caddycmd.Flags, uri string, q url.Values, v any) (done bool, err error) {
	if len(q) > 0 {
		uri += "?" + q.Encode()
	}
	body, err := roomsRequest(fl, http.MethodGet, uri, nil)
	if err != nil {
		return false, err
	}
	if fl.Bool("json") {
		_, err := printRaw(body)
		return true, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("reading the answer: %v", err)
	}
	return false, nil
}

// exitCode is the command's exit code after err.
func exitCode(err error) int {
	if err != nil {
		return caddy.ExitCodeFailedStartup
	}
	return caddy.ExitCodeSuccess
}

func printRaw(body []byte) (int, error) {
	_, err := os.Stdout.Write(body)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	return caddy.ExitCodeSuccess, nil
}

// printable quotes a name that has spaces or control characters, so that
// the table stays readable and cannot be spoofed by a room name.
func printable(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '"' }) {
		return fmt.Sprintf("%q", s)
	}
	return s
}
