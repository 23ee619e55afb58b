package caddyrooms_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// histSite has path rooms on /ws/{room}, a route without a room on /free,
// a route keeping 3 messages on /short/{room}, and rooms_publish on
// /api/publish/{room}. Members that publish do not read, hence the queue.
const histSite = `:{PORT} {
	rooms /ws/* {
		room {path.1}
		send_queue 16MiB
	}
	rooms /free {
		send_queue 16MiB
	}
	rooms /short/* {
		room {path.1}
		history 3
	}
	rooms_publish /api/publish/* {path.2}
}`

// histJoin joins room by message, with since ({epoch, seq}) or last when
// given, and returns `joined`.
func histJoin(t *testing.T, c *wstest.Client, room string, since map[string]any, last int) wstest.Frame {
	t.Helper()
	msg := map[string]any{"type": "join", "room": room, "id": "j"}
	if since != nil {
		msg["since"] = since
	}
	if last > 0 {
		msg["last"] = last
	}
	c.Send(msg)
	return c.ExpectSkipping("joined", "presence")
}

// histRead reads n messages, which must be numbered after+1, after+2, ...
// with presence and acks skipped, and returns the last seq.
func histRead(t *testing.T, c *wstest.Client, after int64, n int) int64 {
	t.Helper()
	for range n {
		f := c.ExpectSkipping("message", "presence", "ack")
		if f.Num("seq") != after+1 {
			t.Fatalf("seq %d after %d: %v", f.Num("seq"), after, f)
		}
		after++
	}
	return after
}

// histPost POSTs body to url with an Idempotency-Key when key is set.
func histPost(t *testing.T, url, body, key string) admAnswer {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	cl := http.Client{Timeout: 10 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: reading: %v", url, err)
	}
	return admAnswer{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// A member's TCP connection drops mid-stream (no close frame) while three
// members and the admin API publish; it resumes twice, by a join with
// since and by the handshake's rooms_since, and each resume sees every
// message after its position once, in order, then the live ones.
func TestE2EResumeMidStream(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, histSite)
	a := wstest.Join(t, c.URL("ws")+"/free", false)
	epoch := histJoin(t, a, "r", nil, 0).Str("epoch")
	const publishers, each, admins = 3, 100, 50
	var wg sync.WaitGroup
	for i := range publishers {
		p := wstest.Join(t, c.URL("ws")+"/ws/r", true)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				_ = p.Conn.WriteJSON(map[string]any{"type": "publish", "room": "r", "data": fmt.Sprintf("%d-%d", i, j)})
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		cl := http.Client{Timeout: 10 * time.Second}
		for j := range admins {
			if resp, err := cl.Post(c.AdminURL()+"/rooms/r/messages", "application/json", strings.NewReader(fmt.Sprint(j))); err == nil {
				resp.Body.Close()
			}
			time.Sleep(4 * time.Millisecond)
		}
	}()
	last := histRead(t, a, 0, 30)
	_ = a.Conn.NetConn().Close() // the TCP connection ends without a close frame
	total := publishers*each + admins

	b := wstest.Join(t, c.URL("ws")+"/free", false)
	if j := histJoin(t, b, "r", map[string]any{"epoch": epoch, "seq": last}, 0); j["recovered"] != true || j.Str("epoch") != epoch {
		t.Fatalf("resume by message: %v", j)
	}
	d := wstest.Dial(t, fmt.Sprintf("%s/ws/r?rooms_since=%s:%d", c.URL("ws"), epoch, last), nil)
	d.Expect("welcome")
	if j := d.Expect("joined"); j["recovered"] != true {
		t.Fatalf("resume at the handshake: %v", j)
	}
	histRead(t, b, last, total-int(last))
	histRead(t, d, last, total-int(last))
	wg.Wait()
	b.ExpectSilence(100 * time.Millisecond)
}

// A quiet room resumes recovered; a wrong epoch and a position older than
// the history answer recovered:false with the reason, and nothing is
// replayed: the next message is the live one.
func TestE2EResumeAnswers(t *testing.T) {
	t.Parallel()
	c := testcaddy.Start(t, histSite)
	wstest.Join(t, c.URL("ws")+"/short/q", true) // keeps the room
	j := wstest.Join(t, c.URL("ws")+"/free", false)
	first := histJoin(t, j, "q", nil, 0)
	if _, has := first["recovered"]; has || first.Str("epoch") == "" {
		t.Fatalf("a join without since: %v", first)
	}
	post := func(data string) { admExpect(t, c, "POST", "/rooms/q/messages", data, 200, "") }
	for i := range 5 {
		post(fmt.Sprint(i)) // seq 1..5; the route keeps 3
	}
	e := first.Str("epoch")
	for _, tc := range []struct {
		name      string
		since     func(n int64) map[string]any
		recovered bool
		reason    string
		replay    int
	}{
		{"quiet", func(n int64) map[string]any { return map[string]any{"epoch": e, "seq": n} }, true, "", 0},
		{"missed three", func(n int64) map[string]any { return map[string]any{"epoch": e, "seq": n - 3} }, true, "", 3},
		{"too old", func(n int64) map[string]any { return map[string]any{"epoch": e, "seq": n - 4} }, false, "too_old", 0},
		{"wrong epoch", func(n int64) map[string]any { return map[string]any{"epoch": "another", "seq": n} }, false, "epoch_changed", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d admDetail
			admExpect(t, c, "GET", "/rooms/q", "", 200, "").JSON(t, &d)
			n := int64(d.Seq)
			cl := wstest.Join(t, c.URL("ws")+"/free", false)
			got := histJoin(t, cl, "q", tc.since(n), 0)
			if got["recovered"] != tc.recovered || got.Str("reason") != tc.reason || got.Num("seq") != n {
				t.Fatalf("joined %v; want recovered %v reason %q seq %d", got, tc.recovered, tc.reason, n)
			}
			histRead(t, cl, n-int64(tc.replay), tc.replay)
			post(`"live"`)
			if f := cl.Expect("message"); f.Str("data") != "live" || f.Num("seq") != n+1 {
				t.Fatalf("after joined: %v; want the live message", f)
			}
			cl.Conn.Close()
		})
	}
}
