package caddyrooms_test

import (
	"context"
	"crypto/tls"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// burstSite serves /ws/ROOM (json) and /raw/ROOM (raw), presence off so
// that every frame a member gets is a message, over plain HTTP or over
// Caddy's own TLS. write_timeout is long, so that a non-reader that
// resumes reading after the burst finds its close frame.
func burstSite(tls bool, opts string) string {
	site, global := ":{PORT}", ""
	if tls {
		site, global = "https://127.0.0.1:{PORT}", "\n\tskip_install_trust\n\tauto_https disable_redirects"
	}
	route := func(path, proto string) string {
		return fmt.Sprintf("\trooms %s {\n\t\troom {path.1}\n\t\tprotocol %s\n\t\tpresence off\n\t\twrite_timeout 60s\n\t\t%s\n\t}\n", path, proto, opts)
	}
	tlsLine := ""
	if tls {
		tlsLine = "\ttls internal\n"
	}
	return "{\n\tadmin 127.0.0.1:{ADMIN}" + global + "\n}\n" + site + " {\n" + tlsLine + route("/ws/*", "json") + route("/raw/*", "raw") + "}\n"
}

// burstURL is the WebSocket URL of path on c.
func burstURL(c *testcaddy.Caddy, tls bool, path string) string {
	if tls {
		return fmt.Sprintf("wss://127.0.0.1:%d%s", c.Port, path)
	}
	return c.URL("ws") + path
}

// burstTLS trusts the local CA of the Caddy under test, once it is ready.
var burstTLS *tls.Config

// burstDial connects to url; a rcvbuf above zero sets the socket's receive
// buffer first, as a client that reads slowly would.
func burstDial(t *testing.T, url string, rcvbuf int) *websocket.Conn {
	t.Helper()
	nd := &net.Dialer{Timeout: wstest.Timeout}
	if rcvbuf > 0 {
		nd.Control = func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf) })
		}
	}
	d := websocket.Dialer{HandshakeTimeout: wstest.Timeout, NetDialContext: nd.DialContext}
	d.TLSClientConfig = burstTLS
	ws, _, err := d.DialContext(context.Background(), url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

// received is what one member read: the messages' data in order, and for
// json their seqs.
type received struct {
	data []string
	seqs []int64
	err  error
}

// collect reads ws until it has want messages, skipping json's own frames
// (welcome, joined, acks), or until the read fails or within passes.
func collect(ws *websocket.Conn, raw bool, want int, within time.Duration) received {
	var r received
	_ = ws.SetReadDeadline(time.Now().Add(within))
	for len(r.data) < want {
		_, b, err := ws.ReadMessage()
		if err != nil {
			r.err = err
			return r
		}
		if raw {
			r.data = append(r.data, string(b))
			continue
		}
		var f struct {
			Type string `json:"type"`
			Data string `json:"data"`
			Seq  int64  `json:"seq"`
		}
		if err := json.Unmarshal(b, &f); err != nil || f.Type != "message" {
			continue
		}
		r.data, r.seqs = append(r.data, f.Data), append(r.seqs, f.Seq)
	}
	return r
}

// joinMember dials a member of room and waits until it is in it: json
// reads welcome and joined; raw is in its room once the handshake is
// answered.
func joinMember(t *testing.T, url string, raw bool, rcvbuf int) *websocket.Conn {
	t.Helper()
	ws := burstDial(t, url, rcvbuf)
	if !raw {
		for _, typ := range []string{"welcome", "joined"} {
			_ = ws.SetReadDeadline(time.Now().Add(wstest.Timeout))
			var f map[string]any
			if err := ws.ReadJSON(&f); err != nil || f["type"] != typ {
				t.Fatalf("got %v %v, want %s", f, err, typ)
			}
		}
	}
	return ws
}

// burstPad makes a message about 200 bytes long, as a chat message is, so
// that a burst is more than a non-reader's queue and socket buffers hold.
var burstPad = strings.Repeat("x", 190)

// publish sends message "p-j-..." the way the protocol does.
func publish(ws *websocket.Conn, raw bool, p, j int) error {
	return publishTo(ws, raw, "r", p, j, burstPad)
}

// publishTo is publish into room with pad as the message's tail.
func publishTo(ws *websocket.Conn, raw bool, room string, p, j int, pad string) error {
	data := fmt.Sprintf("%d-%d-%s", p, j, pad)
	if raw {
		return ws.WriteMessage(websocket.TextMessage, []byte(data))
	}
	return ws.WriteJSON(map[string]any{"type": "publish", "room": room, "data": data})
}

// raceBuild reports whether the Caddy binary was built with -race.
func raceBuild(t *testing.T, bin string) bool {
	t.Helper()
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// rssKiB reads a field of /proc/PID/status, in KiB (VmRSS, VmHWM).
func rssKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// expectCut reads what a non-reader was sent until the connection ends,
// and fails unless it ends with 1008 "send queue full".
func expectCut(t *testing.T, ws *websocket.Conn) {
	t.Helper()
	r := collect(ws, true, 1<<30, 30*time.Second)
	var ce *websocket.CloseError
	if !errors.As(r.err, &ce) || ce.Code != 1008 || ce.Text != "send queue full" {
		t.Fatalf("the non-reader ended with %v after %d frames, want 1008 send queue full", r.err, len(r.data))
	}
}

// expectDropNotice reads everything a drop_oldest non-reader was sent and
// checks that what it got and what it was told it lost add up to total.
func expectDropNotice(t *testing.T, ws *websocket.Conn, total int) {
	t.Helper()
	got, dropped := 0, 0
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for got+dropped < total {
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("the drop_oldest non-reader: %v after %d + %d dropped", err, got, dropped)
		}
		var f struct{ Type, Code, Message string }
		_ = json.Unmarshal(b, &f)
		switch {
		case f.Type == "message":
			got++
		case f.Type == "error" && f.Code == "messages_dropped":
			n, _ := strconv.Atoi(strings.Fields(f.Message)[0])
			dropped += n
		}
	}
	if dropped == 0 || got+dropped != total {
		t.Fatalf("the non-reader got %d and was told of %d dropped, want %d in all, some dropped", got, dropped, total)
	}
}

// TestE2EBurstsReachEveryReader is the first scenario at scale: 8
// publishers each send 1,000 messages of about 200 bytes as fast as they
// can write into a room of 50 members that all read. Every member gets
// every message, in one order, none is cut off, and Caddy's peak RSS
// grows by less than members × (send_queue + 256 KiB), the bound the
// README states (five times that for a Caddy built with -race). (A non-reader's cut-off needs
// more than its queue and the kernel's socket buffers, several MiB: see
// TestE2EFlowControlledPublisher.)
func TestE2EBurstsReachEveryReader(t *testing.T) {
	for _, tc := range []struct {
		name, opts string
		raw, tls   bool
	}{
		{"json", "", false, false},
		{"raw", "", true, false},
		{"json-tls", "", false, true},
		{"raw-tls", "", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testcaddy.Start(t, burstSite(tc.tls, tc.opts))
			if tc.tls {
				burstTLS = stCaddyTLS(t, c)
			}
			burst(t, c, tc.raw, tc.tls)
		})
	}
}

func burst(t *testing.T, c *testcaddy.Caddy, raw, tls bool) {
	const members, publishers, each = 50, 8, 1000
	const total = publishers * each
	path := "/ws/r"
	if raw {
		path = "/raw/r"
	}
	url := burstURL(c, tls, path)
	conns := make([]*websocket.Conn, members)
	for i := range conns {
		conns[i] = joinMember(t, url, raw, 0)
	}
	baseRSS := rssKiB(t, c.PID(), "VmRSS")
	results := make([]received, members)
	var readers sync.WaitGroup
	for i, ws := range conns {
		want := total
		if raw && i < publishers {
			want = total - each // a raw sender does not get its own back
		}
		readers.Add(1)
		go func(i int, ws *websocket.Conn) {
			defer readers.Done()
			results[i] = collect(ws, raw, want, 60*time.Second)
		}(i, ws)
	}
	start := time.Now()
	var pubs sync.WaitGroup
	pubErrs := make([]error, publishers)
	for p := 0; p < publishers; p++ {
		pubs.Add(1)
		go func(p int) {
			defer pubs.Done()
			for j := 0; j < each && pubErrs[p] == nil; j++ {
				pubErrs[p] = publish(conns[p], raw, p, j)
			}
		}(p)
	}
	pubs.Wait()
	for p, err := range pubErrs {
		if err != nil {
			t.Fatalf("publisher %d: %v", p, err)
		}
	}
	readers.Wait()
	t.Logf("%d messages to %d members in %v", total, members, time.Since(start).Round(time.Millisecond))
	for _, line := range strings.Split(c.Log(), "\n") {
		if strings.Contains(line, `"warn"`) || strings.Contains(line, `"error"`) {
			t.Log(line)
		}
	}
	checkOneOrder(t, results, raw, publishers)
	grown := rssKiB(t, c.PID(), "VmHWM") - baseRSS
	// members × (send_queue + a coalesced write of 256 KiB), in KiB; the
	// race detector's shadow memory multiplies memory by up to 5 to 10
	bound := int64(members+1) * (1024 + 256)
	if raceBuild(t, c.Bin) {
		bound *= 5
	}
	t.Logf("Caddy's peak RSS grew by %d KiB during the burst; bound %d KiB", grown, bound)
	if grown > bound {
		t.Fatalf("Caddy's peak RSS grew by %d KiB, over its bound of %d KiB", grown, bound)
	}
}

// checkOneOrder checks that every member got every message, in one order
// for all: json by seq 1, 2, 3, ...; raw against the first member that
// did not publish, its own messages left out for a publisher.
func checkOneOrder(t *testing.T, results []received, raw bool, publishers int) {
	t.Helper()
	ref := results[len(results)-1].data
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("member %d: %v after %d messages", i, r.err, len(r.data))
		}
		want := ref
		if raw && i < publishers {
			want = without(ref, strconv.Itoa(i)+"-")
		}
		if len(r.data) != len(want) {
			t.Fatalf("member %d got %d messages, want %d", i, len(r.data), len(want))
		}
		for k := range r.data {
			if r.data[k] != want[k] || (!raw && r.seqs[k] != int64(k+1)) {
				t.Fatalf("member %d, message %d: %q, want %q (seq %v)", i, k, r.data[k], want[k], r.seqs)
			}
		}
	}
}

// without is list less the entries that start with prefix.
func without(list []string, prefix string) []string {
	var out []string
	for _, s := range list {
		if !strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// TestE2EFlowControlledPublisher is the second scenario: one
// publisher that stays at most 1,000 messages ahead of the slowest member
// that reads, two readers, and one member that never reads (a 4 KiB
// receive buffer), 20,000 messages of about 400 bytes: 8 MB, more than the
// non-reader's queue and socket buffers hold. The publisher and the
// readers get every message in order; only the non-reader is cut off with
// 1008, or under drop_oldest told how many it lost.
func TestE2EFlowControlledPublisher(t *testing.T) {
	for _, tc := range []struct {
		name, opts string
		raw, tls   bool
	}{
		{"json", "", false, false},
		{"raw", "", true, false},
		{"json-tls", "", false, true},
		{"raw-tls", "", true, true},
		{"json-drop_oldest", "slow_client drop_oldest", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testcaddy.Start(t, burstSite(tc.tls, tc.opts))
			if tc.tls {
				burstTLS = stCaddyTLS(t, c)
			}
			flowControlled(t, c, tc.raw, tc.tls, tc.opts != "")
		})
	}
}

func flowControlled(t *testing.T, c *testcaddy.Caddy, raw, tls, dropOldest bool) {
	const total, ahead = 20000, 1000
	path := "/ws/r"
	if raw {
		path = "/raw/r"
	}
	url := burstURL(c, tls, path)
	nonReader := joinMember(t, url, raw, 4096)
	conns := []*websocket.Conn{joinMember(t, url, raw, 0), joinMember(t, url, raw, 0), joinMember(t, url, raw, 0)}
	pub := conns[0]
	progress := make([]atomic.Int64, len(conns))
	results := make([]received, len(conns))
	var readers sync.WaitGroup
	for i, ws := range conns {
		if raw && ws == pub {
			progress[i].Store(total) // a raw sender gets nothing back
			continue
		}
		readers.Add(1)
		go func(i int, ws *websocket.Conn) {
			defer readers.Done()
			results[i] = collectCounting(ws, raw, total, 120*time.Second, &progress[i])
		}(i, ws)
	}
	pad := strings.Repeat("y", 380)
	deadline := time.Now().Add(120 * time.Second)
	for j := 0; j < total; j++ {
		for j-int(slowest(progress)) > ahead {
			if time.Now().After(deadline) {
				t.Fatalf("the readers stopped at %d of %d", slowest(progress), j)
			}
			time.Sleep(time.Millisecond)
		}
		if err := publishTo(pub, raw, "r", 0, j, pad); err != nil {
			t.Fatalf("publish %d: %v", j, err)
		}
	}
	if dropOldest {
		expectDropNotice(t, nonReader, total)
	} else {
		expectCut(t, nonReader)
		if n := strings.Count(c.Log(), "closing a slow client"); n != 1 {
			t.Errorf("Caddy logged %d cut-offs, want one", n)
		}
	}
	readers.Wait()
	for i, r := range results {
		if raw && i == 0 {
			continue
		}
		if r.err != nil || len(r.data) != total {
			t.Fatalf("member %d: %d messages, %v", i, len(r.data), r.err)
		}
		for k, d := range r.data {
			if !strings.HasPrefix(d, fmt.Sprintf("0-%d-", k)) {
				t.Fatalf("member %d, message %d: %.20q", i, k, d)
			}
		}
	}
}

// slowest is the least progress of the members that read.
func slowest(progress []atomic.Int64) int64 {
	m := int64(1 << 62)
	for i := range progress {
		m = min(m, progress[i].Load())
	}
	return m
}

// collectCounting is collect that counts the messages as they arrive.
func collectCounting(ws *websocket.Conn, raw bool, want int, within time.Duration, n *atomic.Int64) received {
	var r received
	_ = ws.SetReadDeadline(time.Now().Add(within))
	for len(r.data) < want {
		one := collect(ws, raw, 1, time.Until(time.Now().Add(within)))
		if one.err != nil {
			r.err = one.err
			return r
		}
		r.data = append(r.data, one.data...)
		n.Add(1)
	}
	return r
}

// TestE2EJoinedBeforeTheAnswer is the third scenario: two clients
// open the same room; as soon as both handshakes are answered one sends a
// frame, and the other gets it, every time (raw has no welcome to wait
// for; json is checked the same way, without waiting for welcome).
func TestE2EJoinedBeforeTheAnswer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		raw, tls bool
	}{{"raw", true, false}, {"raw-tls", true, true}, {"json", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := testcaddy.Start(t, burstSite(tc.tls, ""))
			if tc.tls {
				burstTLS = stCaddyTLS(t, c)
			}
			prefix := "/ws/t"
			if tc.raw {
				prefix = "/raw/t"
			}
			for i := 0; i < 200; i++ {
				url := burstURL(c, tc.tls, prefix+strconv.Itoa(i))
				a, b := burstDial(t, url, 0), burstDial(t, url, 0)
				if err := publishTo(a, tc.raw, "t"+strconv.Itoa(i), i, 0, ""); err != nil {
					t.Fatal(err)
				}
				if r := collect(b, tc.raw, 1, wstest.Timeout); r.err != nil || !strings.HasPrefix(r.data[0], fmt.Sprintf("%d-0-", i)) {
					t.Fatalf("try %d: the other client got %q, %v", i, r.data, r.err)
				}
				_ = a.Close()
				_ = b.Close()
			}
		})
	}
}
