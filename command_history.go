package caddyrooms

import (
	"fmt"
	"net/url"
	"os"
	"text/tabwriter"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddyrooms/caddyrooms/hub"
)

// historyCommand is `caddy rooms history <room> [--since N] [--limit N]`.
func historyCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "history <room> [--since <seq>] [--limit <n>]",
		Short: "Shows a room's epoch, seq and kept messages, oldest first",
		Args:  argsWithUsage(1, 1),
		RunE:  caddycmd.WrapCommandFuncForCobra(cmdRoomsHistory),
	}
	c.Flags().Uint64("since", 0, "Only messages after this seq")
	c.Flags().Int("limit", 0, "At most this many messages (0: every kept one)")
	return c
}

func cmdRoomsHistory(fl caddycmd.Flags) (int, error) {
	room := fl.Arg(0)
	q := url.Values{}
	if since, err := fl.GetUint64("since"); err == nil && since > 0 {
		q.Set("since", fmt.Sprint(since))
	}
	if n := fl.Int("limit"); n != 0 {
		q.Set("limit", fmt.Sprint(n))
	}
	var page hub.HistoryPage
	if done, err := getJSON(fl, roomPath(fl.String("hub"), room)+"/messages", q, &page); done || err != nil {
		return exitCode(err), err
	}
	fmt.Printf("room %s: epoch %s, seq %d, %d messages shown\n\n", printable(page.Room), page.Epoch, page.Seq, len(page.Messages))
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tFROM\tDATA")
	for _, m := range page.Messages {
		from := printable(m.From)
		if from == "" {
			from = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", m.Seq, from, m.Data)
	}
	_ = tw.Flush()
	return caddy.ExitCodeSuccess, nil
}
