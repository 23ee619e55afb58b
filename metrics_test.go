package caddyrooms_test

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// metSite has a lobby with a 1 KiB frame limit, a route without a room,
// and two routes with tiny send queues: /slow cuts a slow reader off,
// /drop drops its oldest messages.
const metSite = `:{PORT} {
	rooms /ws/* {
		room {path.1}
		max_message_size 1KiB
	}
	rooms /free
	rooms /slow/* {
		room {path.1}
		send_queue 128KiB
		write_timeout 2s
	}
	rooms /drop/* {
		room {path.1}
		send_queue 128KiB
		slow_client drop_oldest
		write_timeout 60s
	}
}
`

// metScrape reads the caddy_rooms_ series of the admin endpoint's
// /metrics, keyed as printed: name{labels}.
func metScrape(t *testing.T, c *testcaddy.Caddy) map[string]float64 {
	t.Helper()
	resp, err := testcaddy.Get(c.AdminURL() + "/metrics")
	if err != nil {
		t.Fatalf("scraping /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: HTTP %d %s", resp.StatusCode, b)
	}
	out := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "caddy_rooms_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading /metrics: %v", err)
	}
	return out
}

// metWait scrapes until every series in want has its value, for at most
// 10 s: the hub updates gauges as connections end, a moment after the
// client sees the close.
func metWait(t *testing.T, c *testcaddy.Caddy, want map[string]float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := metScrape(t, c)
		var diffs []string
		for k, v := range want {
			if got[k] != v {
				diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", k, got[k], v))
			}
		}
		if len(diffs) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			sort.Strings(diffs)
			t.Fatalf("metrics after 10s:\n%s", strings.Join(diffs, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metPublish publishes data into room through the admin API and returns
// how many members it was queued for; -1 when the room is gone.
func metPublish(t *testing.T, c *testcaddy.Caddy, room, data string) int {
	t.Helper()
	a := admDo(t, c, "POST", "/rooms/"+room+"/messages", data)
	if a.Status == 404 {
		return -1
	}
	if a.Status != 200 {
		t.Fatalf("publish to %s: HTTP %d %s", room, a.Status, a.Body)
	}
	var res struct{ Seq, Delivered int }
	a.JSON(t, &res)
	return res.Delivered
}

const (
	mConns      = "caddy_rooms_connections"
	mRooms      = "caddy_rooms_rooms"
	mMembers    = "caddy_rooms_members"
	mReceived   = "caddy_rooms_messages_received_total"
	mDeliveries = "caddy_rooms_deliveries_total"
	mDropped    = "caddy_rooms_dropped_messages_total"
	mSlow       = "caddy_rooms_slow_client_disconnects_total"
	mLatency    = "caddy_rooms_write_latency_seconds"
)

func mErrors(code string) string { return `caddy_rooms_errors_total{code="` + code + `"}` }

func TestMetricsMatchWhatClientsDid(t *testing.T) {
	c := testcaddy.Start(t, metSite)
	ws := c.URL("ws")

	// a and b in lobby; c in x and y by join frames (2 frames received)
	a := wstest.Join(t, ws+"/ws/lobby", true)
	b := wstest.Join(t, ws+"/ws/lobby", true)
	cl := wstest.Join(t, ws+"/free", false)
	for _, r := range []string{"x", "y"} {
		cl.Send(map[string]any{"type": "join", "room": r})
		cl.Expect("joined")
	}
	// a publishes twice (2 received, 2 x 2 deliveries)
	for i := 0; i < 2; i++ {
		a.Send(map[string]any{"type": "publish", "room": "lobby", "data": i, "id": "p"})
		b.ExpectSkipping("message", "presence")
	}
	// c errs twice (2 received): not JSON, and publishing where it is not a member
	cl.SendRaw(1, []byte("not json"))
	cl.ExpectError("bad_json")
	cl.Send(map[string]any{"type": "publish", "room": "lobby", "data": "secret"})
	cl.ExpectError("not_member")
	// the admin API publishes once (2 deliveries)
	if n := metPublish(t, c, "lobby", `"from admin"`); n != 2 {
		t.Fatalf("admin publish delivered to %d", n)
	}
	b.Expect("message")
	// b sends a frame over 1 KiB: closed with 1009, counted as an error, not as received
	b.SendRaw(1, []byte(`"`+strings.Repeat("b", 2000)+`"`))
	b.ExpectClose(1009, "message over max_message_size")

	got := metWait(t, c, map[string]float64{
		mConns: 2, mRooms: 3, mMembers: 3,
		mReceived: 6, mDeliveries: 6, mDropped: 0, mSlow: 0,
		mErrors("bad_json"): 1, mErrors("not_member"): 1, mErrors("message_too_big"): 1,
	})
	metCheckLatencyBuckets(t, got)
	deliveries := 6.0

	// a reader that never reads, behind a 128 KiB queue, is cut off once
	wstest.Join(t, ws+"/slow/s", true)
	big := `"` + strings.Repeat("s", 32<<10) + `"`
	cut := false
	for i := 0; i < 5000 && !cut; i++ {
		switch n := metPublish(t, c, "s", big); n {
		case 1:
			deliveries++
		case 0, -1: // closing, or gone
			cut = true
		default:
			t.Fatalf("publish to s delivered to %d", n)
		}
	}
	if !cut {
		t.Fatal("the slow reader was never cut off")
	}
	metWait(t, c, map[string]float64{mSlow: 1, mConns: 2, mRooms: 3, mMembers: 3, mDeliveries: deliveries})

	// a reader that stops reading, behind a drop_oldest queue, loses messages
	drop := wstest.Join(t, ws+"/drop/d", true)
	posts, dropped := 0, 0.0
	for posts < 5000 && dropped == 0 {
		if n := metPublish(t, c, "d", big); n != 1 {
			t.Fatalf("publish to d delivered to %d", n)
		}
		posts++
		deliveries++
		if posts%10 == 0 {
			dropped = metScrape(t, c)[mDropped]
		}
	}
	if dropped == 0 {
		t.Fatalf("nothing dropped after %d messages", posts)
	}
	// now it reads everything: the oldest were dropped, it was told how
	// many in place, and what it got and what it was told it lost add up
	received, told := drop.ExpectDroppedOldest("d", int64(posts))
	if received+told != posts {
		t.Fatalf("%d received + %d dropped != %d published", received, told, posts)
	}
	got = metWait(t, c, map[string]float64{
		mDropped: float64(told), mDeliveries: deliveries,
		mConns: 3, mRooms: 4, mMembers: 4, mReceived: 6, mSlow: 1,
	})

	// the label set stays small: no room or client name in any label
	for series := range got {
		name, labels, _ := strings.Cut(series, "{")
		switch {
		case labels == "":
		case name == "caddy_rooms_errors_total" && strings.HasPrefix(labels, `code="`):
		case strings.HasSuffix(name, "_bucket") && strings.HasPrefix(labels, `le="`): // histograms
		case name == "caddy_rooms_broker_up" && strings.HasPrefix(labels, `hub="`):
		case name == "caddy_rooms_broker_errors_total" && strings.HasPrefix(labels, `op="`):
		default:
			t.Errorf("unexpected labels: %s", series)
		}
	}

	// a reload keeps every count; counting goes on from there
	c.Reload(strings.Replace(metSite, "rooms /free", "rooms /free {\n\t\tmax_rooms 5\n\t}", 1))
	after := metScrape(t, c)
	for series, v := range got {
		if strings.HasPrefix(series, mLatency) {
			continue // the reload's own writes may count
		}
		if after[series] != v {
			t.Errorf("after reload %s = %v, was %v", series, after[series], v)
		}
	}
	if n := metPublish(t, c, "lobby", `"after reload"`); n != 1 {
		t.Fatalf("publish after reload delivered to %d", n)
	}
	metWait(t, c, map[string]float64{mDeliveries: deliveries + 1, mConns: 3})
}

func TestMetricsLogsNeverHoldBodies(t *testing.T) {
	c := testcaddy.Start(t, "{\n\tadmin 127.0.0.1:{ADMIN}\n\tauto_https off\n\tdebug\n}\n"+metSite)
	ws := c.URL("ws")
	a := wstest.Join(t, ws+"/ws/lobby", true)
	a.Send(map[string]any{"type": "publish", "room": "lobby", "data": "SECRET-ONE"})
	a.ExpectSkipping("ack", "message")
	a.Send(map[string]any{"type": "publish", "room": "elsewhere", "data": "SECRET-TWO"})
	a.ExpectError("not_member")
	metPublish(t, c, "lobby", `"SECRET-THREE"`)
	a.SendRaw(1, []byte(`"SECRET-FOUR`+strings.Repeat("x", 2000)+`"`))
	a.ExpectClose(1009, "message over max_message_size")

	wants := []*regexp.Regexp{
		regexp.MustCompile(`"level":"debug".*"msg":"connected".*"client":"` + a.ID + `".*"remote_addr":"127.0.0.1:\d+".*"room":"lobby"`),
		regexp.MustCompile(`"level":"warn".*"msg":"refused a frame".*"client":"` + a.ID + `".*"remote_addr":"127.0.0.1:\d+".*"code":"not_member".*"room":"elsewhere"`),
		regexp.MustCompile(`"level":"warn".*"msg":"frame over max_message_size".*"client":"` + a.ID + `".*"rooms":\["lobby"\]`),
		regexp.MustCompile(`"level":"info".*"msg":"published to a room".*"room":"lobby"`),
		regexp.MustCompile(`"level":"debug".*"msg":"disconnected".*"client":"` + a.ID + `".*"rooms":\["lobby"\].*"close_code":1009`),
	}
	// the log arrives through a pipe, a line possibly in pieces: wait for all
	deadline := time.Now().Add(10 * time.Second)
	var log string
	var missing []string
	for {
		log, missing = c.Log(), nil
		for _, want := range wants {
			if !want.MatchString(log) {
				missing = append(missing, want.String())
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("no log line matches:\n%s\nin:\n%s", strings.Join(missing, "\n"), log)
	}
	if strings.Contains(log, "SECRET") {
		t.Errorf("a message body is in the log:\n%s", log)
	}
}

// metCheckLatencyBuckets checks the write-latency histogram's buckets, 100 µs
// to 2.5 s as the README says, and that it counted writes. What it times is
// checked in the hub (TestWriteLatencyIsTheOldestFramesWait).
func metCheckLatencyBuckets(t *testing.T, got map[string]float64) {
	t.Helper()
	want := []string{"0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}
	var les []string
	for series := range got {
		if le, ok := strings.CutPrefix(series, mLatency+`_bucket{le="`); ok {
			les = append(les, strings.TrimSuffix(le, `"}`))
		}
	}
	sort.Slice(les, func(i, j int) bool { return metLE(les[i]) < metLE(les[j]) })
	if strings.Join(les, " ") != strings.Join(want, " ") {
		t.Errorf("write latency buckets %v, want %v", les, want)
	}
	count, prev := got[mLatency+"_count"], 0.0
	for _, le := range want {
		n := got[mLatency+`_bucket{le="`+le+`"}`]
		if n < prev {
			t.Errorf("bucket le=%s has %v, less than the one below (%v)", le, n, prev)
		}
		prev = n
	}
	if count < 1 || prev != count {
		t.Errorf("write latency histogram: count %v, +Inf bucket %v", count, prev)
	}
}

func metLE(s string) float64 {
	if s == "+Inf" {
		return math.Inf(1)
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}
