package caddyrooms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// cmdResult is what one run of the caddy binary did.
type cmdResult struct {
	stdout, stderr string
	code           int
}

// cmdRooms runs `caddy rooms ARGS...` with stdin, bounded by 20 s.
func cmdRooms(t *testing.T, stdin string, args ...string) cmdResult {
	t.Helper()
	return cmdRoomsEnv(t, nil, stdin, args...)
}

// cmdRoomsEnv is cmdRooms with env added to the process's environment.
func cmdRoomsEnv(t *testing.T, env []string, stdin string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testcaddy.Binary(t), append([]string{"rooms"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	res := cmdResult{stdout: out.String(), stderr: errOut.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("caddy rooms %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("caddy rooms %v did not finish within 20s", args)
	}
	return res
}

// ok fails the test unless the command succeeded, and returns its output.
func (r cmdResult) ok(t *testing.T) string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails fails the test unless the command failed with a message on stderr
// that contains part.
func (r cmdResult) fails(t *testing.T, part string) {
	t.Helper()
	if r.code == 0 {
		t.Fatalf("succeeded, want a failure with %q\nstdout: %s", part, r.stdout)
	}
	if !strings.Contains(r.stderr, part) {
		t.Fatalf("stderr %q does not contain %q", r.stderr, part)
	}
}

// cmdTable splits the non-blank lines of a table into fields.
func cmdTable(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			rows = append(rows, f)
		}
	}
	return rows
}

func TestCommandListAndShow(t *testing.T) {
	t.Parallel() // each has its own Caddy; the time goes into running the binary
	c := testcaddy.Start(t, admConfig("1KiB"))
	p := admPopulate(t, c)
	addr := fmt.Sprintf("--address=127.0.0.1:%d", c.AdminPort)

	got := cmdTable(cmdRooms(t, "", "list", addr).ok(t))
	want := [][]string{{"ROOM", "MEMBERS"}, {"@odd", "1"}, {"a/b", "1"}, {"lobby", "2"}, {"lounge", "1"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("list:\n%v\nwant\n%v", got, want)
	}

	r := cmdRooms(t, "", "list", addr, "--prefix", "lo", "--limit", "1")
	if got := cmdTable(r.ok(t)); fmt.Sprint(got) != "[[ROOM MEMBERS] [lobby 2]]" {
		t.Errorf("list --prefix lo --limit 1: %v", got)
	}
	if !strings.Contains(r.stderr, `--after "lobby"`) {
		t.Errorf("list with more rooms does not say how to get them: %q", r.stderr)
	}
	if got := cmdTable(cmdRooms(t, "", "list", addr, "--prefix", "lo", "--after", "lobby").ok(t)); fmt.Sprint(got) != "[[ROOM MEMBERS] [lounge 1]]" {
		t.Errorf("list --after lobby: %v", got)
	}

	var l admList
	if err := json.Unmarshal([]byte(cmdRooms(t, "", "list", addr, "--json").ok(t)), &l); err != nil {
		t.Fatal(err)
	}
	if l.String() != "@odd:1 a/b:1 lobby:2 lounge:1" {
		t.Errorf("list --json: %s", l)
	}

	out := cmdRooms(t, "", "show", "lobby", addr).ok(t)
	rows := cmdTable(out)
	if strings.Join(rows[0], " ") != "room lobby: 2 members, 0 messages" || strings.Join(rows[1], " ") != "CLIENT USER REMOTE ADDRESS JOINED" {
		t.Errorf("show lobby:\n%s", out)
	}
	for i, who := range []*wstest.Client{p.alice, p.bob} {
		row := rows[2+i]
		// JOINED is local time with its zone: date, time, zone
		if len(row) != 6 || row[0] != who.ID || row[1] != []string{"alice", "bob"}[i] || !strings.HasPrefix(row[2], "127.0.0.1:") || row[5] != time.Now().Format("MST") {
			t.Errorf("show lobby, client %d: %v", i, row)
		}
	}

	var d admDetail
	if err := json.Unmarshal([]byte(cmdRooms(t, "", "show", "a/b", addr, "--json").ok(t)), &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != "a/b" || d.Clients[0].ID != p.dave.ID {
		t.Errorf("show a/b --json: %+v", d)
	}
	out = cmdRooms(t, "", "show", "@odd", addr).ok(t)
	if !strings.Contains(out, "room @odd: 1 members") || !strings.Contains(out, p.erin.ID+"  -  ") {
		t.Errorf("show @odd:\n%s", out)
	}

	cmdRooms(t, "", "show", "nope", addr).fails(t, `no room \"nope\" (HTTP 404)`)
	cmdRooms(t, "", "show", addr).fails(t, "usage: caddy rooms show <room>")
	cmdRooms(t, "", "list", addr, "--hub", "nohub").fails(t, `no hub \"nohub\"`)
	if out := cmdRooms(t, "", "list", addr, "--hub", "other").ok(t); out != "no rooms\n" {
		t.Errorf("list --hub other: %q", out)
	}
	if out := cmdRooms(t, "", "list", addr, "--prefix", "game-").ok(t); out != "no rooms\n" {
		t.Errorf("list --prefix game-: %q", out)
	}
	// names that HTTP would resolve as path steps
	dots := admJoinFree(t, c, "..")
	if out := cmdRooms(t, "", "show", "..", addr).ok(t); !strings.Contains(out, "room ..: 1 members") || !strings.Contains(out, dots.ID) {
		t.Errorf("show ..:\n%s", out)
	}
}

func TestCommandPublishKickEmpty(t *testing.T) {
	t.Parallel() // each has its own Caddy; the time goes into running the binary
	c := testcaddy.Start(t, admConfig("1KiB"))
	p := admPopulate(t, c)
	o := wstest.Join(t, c.URL("ws")+"/other/lobby", true)
	addr := fmt.Sprintf("--address=127.0.0.1:%d", c.AdminPort)

	// from an argument
	out := cmdRooms(t, "", "publish", addr, "lobby", `{"text":"hi"}`).ok(t)
	if out != "published to lobby: seq 1, delivered to 2 members\n" {
		t.Errorf("publish: %q", out)
	}
	for _, cl := range []*wstest.Client{p.alice, p.bob} {
		if m := cl.Expect("message"); m.Num("seq") != 1 || fmt.Sprint(m["data"]) != "map[text:hi]" {
			t.Errorf("%s got %v", cl, m)
		}
	}
	// from stdin, without DATA and with -; --json answers the API's JSON
	cmdRooms(t, "[1, 2]\n", "publish", addr, "a/b").ok(t)
	if m := p.dave.Expect("message"); fmt.Sprint(m["data"]) != "[1 2]" {
		t.Errorf("dave got %v", m)
	}
	out = cmdRooms(t, `"piped"`, "publish", addr, "--json", "@odd", "-").ok(t)
	if strings.TrimSpace(out) != `{"seq":1,"delivered":1}` {
		t.Errorf("publish --json: %q", out)
	}
	if m := p.erin.Expect("message"); m.Str("data") != "piped" {
		t.Errorf("erin got %v", m)
	}
	// into hub other, within and over its 1 KiB limit
	cmdRooms(t, "", "publish", addr, "--hub", "other", "lobby", `"to other"`).ok(t)
	if m := o.Expect("message"); m.Str("data") != "to other" {
		t.Errorf("other got %v", m)
	}
	big := `"` + strings.Repeat("z", 1024) + `"`
	cmdRooms(t, "", "publish", addr, "--hub", "other", "lobby", big).fails(t, "(HTTP 413)")

	cmdRooms(t, "", "publish", addr, "lobby", "not json").fails(t, "must be JSON")
	cmdRooms(t, "", "publish", addr, "nope", "1").fails(t, `no room \"nope\"`)
	cmdRooms(t, "", "publish", addr).fails(t, "usage: caddy rooms publish <room> [<json>|-]")

	// kick
	out = cmdRooms(t, "", "kick", addr, "lobby", p.bob.ID).ok(t)
	if out != "disconnected "+p.bob.ID+" from lobby\n" {
		t.Errorf("kick: %q", out)
	}
	p.bob.ExpectClose(hub.CloseKicked, "disconnected by the operator")
	cmdRooms(t, "", "kick", addr, "lobby", p.bob.ID).fails(t, "no client")
	if out := cmdRooms(t, "", "kick", addr, "--json", "--reconnect", "a/b", p.dave.ID).ok(t); out != "" {
		t.Errorf("kick --json printed %q", out)
	}
	p.dave.ExpectClose(hub.ClosePolicy, "disconnected by the operator") // --reconnect: a plain disconnect
	cmdRooms(t, "", "kick", addr).fails(t, "usage: caddy rooms kick <room> <client> [--reconnect]")
	cmdRooms(t, "", "kick", addr, "lobby").fails(t, "usage: caddy rooms kick")
	cmdRooms(t, "", "list", addr, "extra").fails(t, "usage: caddy rooms list")

	// empty
	if out := cmdRooms(t, "", "empty", addr, "lobby").ok(t); out != "emptied lobby\n" {
		t.Errorf("empty: %q", out)
	}
	if f := p.alice.ExpectSkipping("left", "presence"); f.Str("room") != "lobby" {
		t.Errorf("alice got %v", f)
	}
	cmdRooms(t, "", "empty", addr, "lobby").fails(t, "no room")

	if got := cmdTable(cmdRooms(t, "", "list", addr).ok(t)); fmt.Sprint(got) != "[[ROOM MEMBERS] [@odd 1] [lounge 1]]" {
		t.Errorf("list at the end: %v", got)
	}
}

func TestCommandFindsTheAdminAddress(t *testing.T) {
	t.Parallel() // each has its own Caddy; the time goes into running the binary
	c := testcaddy.Start(t, admConfig("1KiB"))
	admPopulate(t, c)
	// from the config file, as `caddy reload --config` does
	out := cmdRooms(t, "", "list", "--config", filepath.Join(c.Dir, "Caddyfile"), "--adapter", "caddyfile").ok(t)
	if !strings.Contains(out, "lobby") {
		t.Errorf("list --config: %q", out)
	}
	// nothing listens: a clear error, exit status 1
	free := fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
	r := cmdRooms(t, "", "list", "--address", free)
	r.fails(t, "cannot reach Caddy's admin endpoint at "+free+": is Caddy running")
	if r.code != 1 {
		t.Errorf("exit status %d, want 1", r.code)
	}
	// without --address and --config the command uses Caddy's default admin
	// address, caddy.DefaultAdminListen: localhost:2019, which packagers
	// (and this test) may change with CADDY_ADMIN. Pointed at the test's
	// Caddy that way, it reaches it; pointed at nothing, it names it.
	want := "localhost:2019"
	if v, ok := os.LookupEnv("CADDY_ADMIN"); ok {
		want = v
	}
	if caddy.DefaultAdminListen != want {
		t.Errorf("caddy.DefaultAdminListen is %q, want %q", caddy.DefaultAdminListen, want)
	}
	admin := fmt.Sprintf("127.0.0.1:%d", c.AdminPort)
	out = cmdRoomsEnv(t, []string{"CADDY_ADMIN=" + admin}, "", "show", "lobby").ok(t)
	if !strings.Contains(out, "room lobby:") {
		t.Errorf("show through the default address: %q", out)
	}
	r = cmdRoomsEnv(t, []string{"CADDY_ADMIN=" + free}, "", "show", "x")
	r.fails(t, "cannot reach Caddy's admin endpoint at "+free+": is Caddy running")
}
