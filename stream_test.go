package caddyrooms_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/testcaddy"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// stWait bounds every wait of these tests.
const stWait = 10 * time.Second

// stConfig is a TLS site serving h1, h2 and h3, with a `rooms` route
// whose room is the path's second segment (/ws/<room>). serverOpts go in
// the server's options, roomOpts in the `rooms` block.
func stConfig(serverOpts, roomOpts string) string {
	if serverOpts != "" {
		serverOpts = "\n\t\t" + serverOpts
	}
	if roomOpts != "" {
		roomOpts = "\n\t\t" + roomOpts
	}
	return `{
	admin 127.0.0.1:{ADMIN}
	skip_install_trust
	auto_https disable_redirects
	servers {
		protocols h1 h2 h3` + serverOpts + `
	}
}

https://127.0.0.1:{PORT} {
	tls internal
	rooms /ws/* {
		room {path.1}` + roomOpts + `
	}
}
`
}

// stStartCaddy runs Caddy with cfg; xconnect sets GODEBUG=http2xconnect=1
// in its environment, without which Go's HTTP/2 server does not offer
// extended CONNECT. It returns the TLS config trusting Caddy's local CA.
func stStartCaddy(t *testing.T, xconnect bool, cfg string) (*testcaddy.Caddy, *tls.Config) {
	t.Helper()
	var debug []string
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if kv != "" && !strings.HasPrefix(kv, "http2xconnect=") {
			debug = append(debug, kv)
		}
	}
	if xconnect {
		debug = append(debug, "http2xconnect=1")
	}
	t.Setenv("GODEBUG", strings.Join(debug, ","))
	c := testcaddy.Start(t, cfg)
	t.Cleanup(func() { // when CADDY_BIN was built with -race
		if strings.Contains(c.Log(), "WARNING: DATA RACE") {
			t.Errorf("the Caddy under test reported a data race:\n%s", c.Log())
		}
	})
	return c, stCaddyTLS(t, c)
}

// stCaddyTLS waits for Caddy's local CA and the site's certificate, and
// returns a TLS config that trusts them.
func stCaddyTLS(t *testing.T, c *testcaddy.Caddy) *tls.Config {
	t.Helper()
	root := filepath.Join(c.Dir, "caddy", "pki", "authorities", "local", "root.crt")
	deadline := time.Now().Add(stWait)
	var lastErr error
	for time.Now().Before(deadline) {
		pem, err := os.ReadFile(root)
		if err == nil {
			pool := x509.NewCertPool()
			if pool.AppendCertsFromPEM(pem) {
				cfg := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
				var conn *tls.Conn
				conn, err = tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", stAddr(c), cfg)
				if err == nil {
					conn.Close()
					return cfg
				}
			}
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no trusted TLS on %s within %s: %v\n%s", stAddr(c), stWait, lastErr, c.Log())
	return nil
}

func stAddr(c *testcaddy.Caddy) string { return fmt.Sprintf("127.0.0.1:%d", c.Port) }

// stALPN returns a copy of cfg that offers only proto.
func stALPN(cfg *tls.Config, proto string) *tls.Config {
	cfg = cfg.Clone()
	cfg.NextProtos = []string{proto}
	return cfg
}

// ---- HTTP/2 -----------------------------------------------------------------

// stDialH2 opens a TLS connection that negotiated h2 and returns Go's HTTP/2
// client connection on it.
func stDialH2(t *testing.T, c *testcaddy.Caddy, cfg *tls.Config) *http2.ClientConn {
	t.Helper()
	conn := stDialTLS(t, c, stALPN(cfg, http2.NextProtoTLS))
	cc, err := (&http2.Transport{}).NewClientConn(conn)
	if err != nil {
		t.Fatalf("h2 client conn: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func stDialTLS(t *testing.T, c *testcaddy.Caddy, cfg *tls.Config) *tls.Conn {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: stWait}, "tcp", stAddr(c), cfg)
	if err != nil {
		t.Fatalf("dial %s: %v", stAddr(c), err)
	}
	t.Cleanup(func() { conn.Close() })
	if got := conn.ConnectionState().NegotiatedProtocol; got != cfg.NextProtos[0] {
		t.Fatalf("ALPN negotiated %q, want %q", got, cfg.NextProtos[0])
	}
	return conn
}

// stH2Connect sends an extended CONNECT (RFC 8441) for a WebSocket at path
// with Go's HTTP/2 client. On success the response's body carries the
// server's frames and the returned writer ours (closing it ends the stream).
func stH2Connect(t *testing.T, cc *http2.ClientConn, c *testcaddy.Caddy, path string) (*http.Response, io.WriteCloser, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodConnect, "https://"+stAddr(c)+path, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header[":protocol"] = []string{"websocket"}
	req.Header.Set("Sec-WebSocket-Version", "13")
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := cc.RoundTrip(req)
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			pw.Close()
			return nil, nil, r.err
		}
		t.Cleanup(func() { r.resp.Body.Close() })
		return r.resp, pw, nil
	case <-time.After(stWait):
		cancel()
		t.Fatalf("no answer to the extended CONNECT within %s", stWait)
		return nil, nil, nil
	}
}

// stRawH2 is an HTTP/2 connection driven frame by frame, to see exactly what
// the server sends.
type stRawH2 struct {
	t        *testing.T
	conn     *tls.Conn
	fr       *http2.Framer
	enc      *hpack.Encoder
	hbuf     bytes.Buffer
	settings map[http2.SettingID]uint32
}

// stDialRawH2 sends the preface and an empty SETTINGS frame, and reads the
// server's SETTINGS.
func stDialRawH2(t *testing.T, c *testcaddy.Caddy, cfg *tls.Config) *stRawH2 {
	t.Helper()
	conn := stDialTLS(t, c, stALPN(cfg, http2.NextProtoTLS))
	_ = conn.SetDeadline(time.Now().Add(stWait))
	h := &stRawH2{t: t, conn: conn, settings: map[http2.SettingID]uint32{}}
	h.fr = http2.NewFramer(conn, conn)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.enc = hpack.NewEncoder(&h.hbuf)
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	if err := h.fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading the server's SETTINGS: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			_ = sf.ForeachSetting(func(s http2.Setting) error { h.settings[s.ID] = s.Val; return nil })
			if err := h.fr.WriteSettingsAck(); err != nil {
				t.Fatal(err)
			}
			return h
		}
	}
}

// request sends a HEADERS frame with fields (pseudo-headers first) on
// stream id, and returns the server's first answer on it: a
// *http2.MetaHeadersFrame or an *http2.RSTStreamFrame (or a GOAWAY).
func (h *stRawH2) request(id uint32, fields ...string) http2.Frame {
	h.t.Helper()
	h.hbuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		_ = h.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	err := h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: h.hbuf.Bytes(), EndHeaders: true})
	if err != nil {
		h.t.Fatal(err)
	}
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			h.t.Fatalf("waiting for an answer on stream %d: %v", id, err)
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			return f
		case *http2.MetaHeadersFrame, *http2.RSTStreamFrame:
			if f.Header().StreamID == id {
				return f
			}
		}
	}
}

func (h *stRawH2) connectWebSocket(id uint32, c *testcaddy.Caddy, path string) http2.Frame {
	return h.request(id,
		":method", "CONNECT", ":protocol", "websocket", ":scheme", "https",
		":path", path, ":authority", stAddr(c), "sec-websocket-version", "13")
}

// ---- HTTP/3 -----------------------------------------------------------------

// stDialH3 opens a QUIC connection to Caddy, with quic-go's defaults (no
// keep-alives, as a client need not send any), and returns the HTTP/3
// client connection once the server's SETTINGS have arrived.
func stDialH3(t *testing.T, c *testcaddy.Caddy, cfg *tls.Config) *http3.ClientConn {
	t.Helper()
	var conn *quic.Conn
	var err error
	deadline := time.Now().Add(stWait)
	for time.Now().Before(deadline) { // the UDP listener may come up after TCP
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err = quic.DialAddr(ctx, stAddr(c), stALPN(cfg, http3.NextProtoH3), nil)
		cancel()
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("QUIC dial %s: %v", stAddr(c), err)
	}
	t.Cleanup(func() { _ = conn.CloseWithError(0, "") })
	cc := (&http3.Transport{}).NewClientConn(conn)
	select {
	case <-cc.ReceivedSettings():
	case <-time.After(stWait):
		t.Fatalf("no HTTP/3 SETTINGS within %s", stWait)
	}
	return cc
}

// stH3Connect sends an extended CONNECT (RFC 9220) for a WebSocket at path and
// returns the response and the request stream, which carries the WebSocket
// both ways once the status is 200.
func stH3Connect(t *testing.T, cc *http3.ClientConn, c *testcaddy.Caddy, path string) (*http.Response, *http3.RequestStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stWait)
	defer cancel()
	str, err := cc.OpenRequestStream(ctx)
	if err != nil {
		t.Fatalf("open request stream: %v", err)
	}
	t.Cleanup(func() { str.CancelRead(0); _ = str.Close() })
	req, err := http.NewRequest(http.MethodConnect, "https://"+stAddr(c)+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Proto = "websocket" // quic-go sends req.Proto as :protocol
	req.Header.Set("Sec-WebSocket-Version", "13")
	if err := str.SendRequestHeader(req); err != nil {
		t.Fatalf("send request header: %v", err)
	}
	_ = str.SetReadDeadline(time.Now().Add(stWait))
	resp, err := str.ReadResponse()
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	_ = str.SetReadDeadline(time.Time{})
	return resp, str
}

// ---- WebSocket over a stream ------------------------------------------------

// stWSOverStream runs a gorilla WebSocket client over a stream the server
// accepted with 200: rd carries the server's frames, wr ours. gorilla only
// dials HTTP/1.1, so its handshake is answered here, over an in-memory
// pipe: on a stream, the 200 already accepted the WebSocket, and what
// crosses the stream afterwards is nothing but masked WebSocket frames.
func stWSOverStream(t *testing.T, rd io.Reader, wr io.WriteCloser) *websocket.Conn {
	t.Helper()
	local, remote := net.Pipe()
	go func() {
		br := bufio.NewReader(remote)
		req, err := http.ReadRequest(br)
		if err != nil {
			remote.Close()
			return
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		_, err = fmt.Fprintf(remote, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			base64.StdEncoding.EncodeToString(sum[:]))
		if err != nil {
			remote.Close()
			return
		}
		go func() { _, _ = io.Copy(wr, br); _ = wr.Close() }() // to the server; closing ends our side of the stream
		_, _ = io.Copy(remote, rd)                             // from the server
		_ = remote.Close()
	}()
	d := websocket.Dialer{
		NetDial:          func(string, string) (net.Conn, error) { return local, nil },
		HandshakeTimeout: stWait,
	}
	ws, _, err := d.Dial("ws://stream/", nil)
	if err != nil {
		t.Fatalf("WebSocket over the stream: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// stDialH1 opens a WebSocket with an HTTP/1.1 Upgrade over TLS.
func stDialH1(t *testing.T, c *testcaddy.Caddy, cfg *tls.Config, path string) *wstest.Client {
	t.Helper()
	d := websocket.Dialer{TLSClientConfig: stALPN(cfg, "http/1.1"), HandshakeTimeout: stWait}
	ws, resp, err := d.Dial("wss://"+stAddr(c)+path, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("HTTP/1.1 WebSocket %s: %v (HTTP %d)", path, err, status)
	}
	t.Cleanup(func() { ws.Close() })
	return wstest.Wrap(t, "h1", ws)
}

// stExchange checks that two peers in room see each other's presence and
// messages: a publishes, both get the message, then b publishes.
func stExchange(t *testing.T, room string, a, b *wstest.Client) {
	t.Helper()
	if pr := a.ExpectSkipping("presence", "ack"); pr["event"] != "join" || pr["client"] != b.ID || pr["members"] != 2.0 {
		t.Fatalf("%s: presence %v, want %s joining, 2 members", a.Name, pr, b.ID)
	}

	a.Send(map[string]any{"type": "publish", "room": room, "data": map[string]any{"from": a.Name}, "id": "p1"})
	var gotMsg, gotAck bool
	for !gotMsg || !gotAck {
		f := a.Next()
		switch f["type"] {
		case "message":
			stCheckMessage(t, a.Name, f, room, a.ID, a.Name, 1)
			gotMsg = true
		case "ack":
			if f["id"] != "p1" || f["seq"] != 1.0 {
				t.Fatalf("%s: ack %v, want id p1 seq 1", a.Name, f)
			}
			gotAck = true
		default:
			t.Fatalf("%s: unexpected %v", a.Name, f)
		}
	}
	stCheckMessage(t, b.Name, b.ExpectSkipping("message"), room, a.ID, a.Name, 1)

	b.Send(map[string]any{"type": "publish", "room": room, "data": map[string]any{"from": b.Name}})
	stCheckMessage(t, a.Name, a.ExpectSkipping("message"), room, b.ID, b.Name, 2)
	stCheckMessage(t, b.Name, b.ExpectSkipping("message", "ack"), room, b.ID, b.Name, 2)
}

func stCheckMessage(t *testing.T, who string, f map[string]any, room, from, data string, seq float64) {
	t.Helper()
	d, _ := f["data"].(map[string]any)
	if f["room"] != room || f["from"] != from || f["seq"] != seq || d["from"] != data {
		t.Fatalf("%s: message %v, want room %q from %s data.from %q seq %v", who, f, room, from, data, seq)
	}
}

// ---- tests ------------------------------------------------------------------

// TestStreamHTTP2WebSocket opens a WebSocket with an HTTP/2 extended CONNECT
// on a Caddy whose HTTP/2 server offers it (GODEBUG=http2xconnect=1), and
// has it talk with an HTTP/1.1 WebSocket in the same room.
func TestStreamHTTP2WebSocket(t *testing.T) {
	c, cfg := stStartCaddy(t, true, stConfig("", ""))

	raw := stDialRawH2(t, c, cfg)
	if v, ok := raw.settings[http2.SettingEnableConnectProtocol]; !ok || v != 1 {
		t.Fatalf("SETTINGS %v: want SETTINGS_ENABLE_CONNECT_PROTOCOL = 1", raw.settings)
	}
	// a raw CONNECT is answered with a 200 HEADERS frame, or a 403 when
	// its Origin is not the site's
	for i, tc := range []struct{ origin, status string }{
		{"", "200"}, {"https://" + stAddr(c), "200"}, {"https://elsewhere.example", "403"},
	} {
		fields := []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "https",
			":path", "/ws/raw", ":authority", stAddr(c), "sec-websocket-version", "13"}
		if tc.origin != "" {
			fields = append(fields, "origin", tc.origin)
		}
		f := raw.request(uint32(2*i+1), fields...)
		hf, ok := f.(*http2.MetaHeadersFrame)
		if !ok || hf.PseudoValue("status") != tc.status {
			t.Fatalf("raw extended CONNECT with Origin %q answered with %v, want :status %s", tc.origin, f, tc.status)
		}
	}

	cc := stDialH2(t, c, cfg)
	resp, body, err := stH2Connect(t, cc, c, "/ws/lobby")
	if err != nil {
		t.Fatalf("extended CONNECT: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("extended CONNECT answered %s %s, want HTTP/2.0 200", resp.Proto, resp.Status)
	}
	h2 := wstest.Wrap(t, "h2", stWSOverStream(t, resp.Body, body))
	h2.ExpectWelcome("lobby")

	h1 := stDialH1(t, c, cfg, "/ws/lobby")
	h1.ExpectWelcome("lobby")
	stExchange(t, "lobby", h2, h1)

	// a ping from the client is answered over the stream, too
	if err := h2.Conn.WriteControl(websocket.PingMessage, []byte("h2?"), time.Now().Add(stWait)); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-h2.Pongs():
		if s != "h2?" {
			t.Fatalf("pong %q, want %q", s, "h2?")
		}
	case <-time.After(stWait):
		t.Fatal("no pong over the HTTP/2 stream")
	}

	h2.SendClose(websocket.CloseNormalClosure, "bye")
	h2.ExpectClose(websocket.CloseNormalClosure, "")
	if pr := h1.ExpectSkipping("presence", "ack"); pr["event"] != "leave" || pr["client"] != h2.ID {
		t.Fatalf("h1: presence %v, want %s leaving", pr, h2.ID)
	}
	// the HTTP/2 connection outlives the WebSocket: another one opens on it
	resp2, body2, err := stH2Connect(t, cc, c, "/ws/lobby")
	if err != nil || resp2.StatusCode != http.StatusOK {
		t.Fatalf("second extended CONNECT on the connection: %v", err)
	}
	again := wstest.Wrap(t, "h2 again", stWSOverStream(t, resp2.Body, body2))
	again.ExpectWelcome("lobby")
}

// TestStreamHTTP2WithoutExtendedConnect checks what Caddy's HTTP/2 server
// does by default (no GODEBUG=http2xconnect=1): it does not offer
// extended CONNECT, Go's client refuses to send one, a client that sends
// one anyway gets its stream reset with PROTOCOL_ERROR, the HTTP/2
// connection stays usable, and WebSockets over HTTP/1.1 work as usual.
func TestStreamHTTP2WithoutExtendedConnect(t *testing.T) {
	c, cfg := stStartCaddy(t, false, stConfig("", ""))

	raw := stDialRawH2(t, c, cfg)
	if v, ok := raw.settings[http2.SettingEnableConnectProtocol]; ok && v != 0 {
		t.Fatalf("SETTINGS %v: SETTINGS_ENABLE_CONNECT_PROTOCOL is offered without GODEBUG=http2xconnect=1", raw.settings)
	}
	f := raw.connectWebSocket(1, c, "/ws/lobby")
	rst, ok := f.(*http2.RSTStreamFrame)
	if !ok || rst.ErrCode != http2.ErrCodeProtocol {
		t.Fatalf("extended CONNECT answered with %#v, want RST_STREAM PROTOCOL_ERROR", f)
	}
	f = raw.request(3, ":method", "GET", ":scheme", "https", ":path", "/", ":authority", stAddr(c))
	if hf, ok := f.(*http2.MetaHeadersFrame); !ok || hf.PseudoValue("status") == "" {
		t.Fatalf("GET after the reset answered with %#v, want a response", f)
	}

	cc := stDialH2(t, c, cfg)
	if _, _, err := stH2Connect(t, cc, c, "/ws/lobby"); err == nil || !strings.Contains(err.Error(), "extended connect not supported by peer") {
		t.Fatalf("Go's HTTP/2 client sent an extended CONNECT to a server that does not offer it: %v", err)
	}

	a := stDialH1(t, c, cfg, "/ws/lobby")
	a.ExpectWelcome("lobby")
	a.Name = "h1 a"
	b := stDialH1(t, c, cfg, "/ws/lobby")
	b.ExpectWelcome("lobby")
	b.Name = "h1 b"
	stExchange(t, "lobby", a, b)
}

// TestStreamHTTP3WebSocket opens a WebSocket with an HTTP/3 extended
// CONNECT (RFC 9220), which quic-go's server always offers, and has it talk
// with an HTTP/1.1 WebSocket in the same room.
func TestStreamHTTP3WebSocket(t *testing.T) {
	c, cfg := stStartCaddy(t, false, stConfig("", ""))

	cc := stDialH3(t, c, cfg)
	if s := cc.Settings(); !s.EnableExtendedConnect {
		t.Fatalf("HTTP/3 SETTINGS %+v: want extended CONNECT", s)
	}
	resp, str := stH3Connect(t, cc, c, "/ws/lobby")
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 3 {
		t.Fatalf("extended CONNECT answered %s %s, want HTTP/3.0 200", resp.Proto, resp.Status)
	}
	h3 := wstest.Wrap(t, "h3", stWSOverStream(t, str, str))
	h3.ExpectWelcome("lobby")

	h1 := stDialH1(t, c, cfg, "/ws/lobby")
	h1.ExpectWelcome("lobby")
	stExchange(t, "lobby", h3, h1)

	h3.SendClose(websocket.CloseNormalClosure, "bye")
	h3.ExpectClose(websocket.CloseNormalClosure, "")
	if pr := h1.ExpectSkipping("presence", "ack"); pr["event"] != "leave" || pr["client"] != h3.ID {
		t.Fatalf("h1: presence %v, want %s leaving", pr, h3.ID)
	}

	// a stream without Sec-WebSocket-Version 13 is refused with 400
	ctx, cancel := context.WithTimeout(context.Background(), stWait)
	defer cancel()
	bad, err := cc.OpenRequestStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.CancelRead(0)
	req, _ := http.NewRequest(http.MethodConnect, "https://"+stAddr(c)+"/ws/lobby", nil)
	req.Proto = "websocket"
	if err := bad.SendRequestHeader(req); err != nil {
		t.Fatal(err)
	}
	_ = bad.SetReadDeadline(time.Now().Add(stWait))
	if r, err := bad.ReadResponse(); err != nil || r.StatusCode != http.StatusBadRequest {
		t.Fatalf("extended CONNECT without a WebSocket version: %v %v, want 400", r, err)
	}
}

// TestStreamOutlivesServerTimeouts checks that WebSockets over HTTP/2 and
// HTTP/3 streams live by the route's ping and pong timeouts, like those
// over HTTP/1.1, and not by the server's body and write timeouts: with
// every server timeout at 1s, they stay open for 4s while pings flow.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	c, cfg := stStartCaddy(t, true, stConfig(
		"timeouts {\n\t\t\tread_body 1s\n\t\t\tread_body_idle 1s\n\t\t\twrite 1s\n\t\t\twrite_idle 1s\n\t\t\tidle 1s\n\t\t}",
		"ping_interval 700ms\n\t\tpong_timeout 1s"))

	h2, h3 := stLobbyPair(t, c, cfg)

	h2.ExpectSilence(4 * time.Second) // pings are answered by the peers' readers
	h3.ExpectSilence(100 * time.Millisecond)

	h2.Send(map[string]any{"type": "publish", "room": "lobby", "data": map[string]any{"from": "h2"}})
	stCheckMessage(t, "h2", h2.ExpectSkipping("message", "ack"), "lobby", h2.ID, "h2", 1)
	stCheckMessage(t, "h3", h3.ExpectSkipping("message"), "lobby", h2.ID, "h2", 1)
}

// TestStreamPongTimeout checks that a stream WebSocket that stops answering
// pings is closed with 1008 "pong timeout" after ping_interval +
// pong_timeout (600 ms), not before.
func TestStreamPongTimeout(t *testing.T) {
	c, cfg := stStartCaddy(t, true, stConfig("", "ping_interval 300ms\n\t\tpong_timeout 300ms"))
	cc := stDialH2(t, c, cfg)
	start := time.Now() // before the server accepts: its clock starts later
	resp, body, err := stH2Connect(t, cc, c, "/ws/lobby")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("extended CONNECT: %v", err)
	}
	ws := stWSOverStream(t, resp.Body, body)
	ws.SetPingHandler(func(string) error { return nil }) // never answer
	p := wstest.Wrap(t, "h2", ws)
	p.ExpectWelcome("lobby")
	p.ExpectClose(hub.ClosePolicy, "pong timeout")
	if d := time.Since(start); d < 600*time.Millisecond || d > 600*time.Millisecond+stWait {
		t.Fatalf("closed after %s, want ping_interval + pong_timeout (600ms), give or take the load", d)
	}
}

// TestStreamQuietPastWriteTimeout checks that a stream WebSocket with
// nothing to send stays open past the route's write_timeout: on HTTP/2 a
// write deadline left armed after a write resets the stream when it fires.
func TestStreamQuietPastWriteTimeout(t *testing.T) {
	c, cfg := stStartCaddy(t, true, stConfig("", "write_timeout 500ms\n\t\tping_interval 3s\n\t\tpong_timeout 3s"))

	h2, h3 := stLobbyPair(t, c, cfg)

	h2.ExpectSilence(2 * time.Second) // no frame either way: no ping before 3s
	h3.ExpectSilence(100 * time.Millisecond)

	h3.Send(map[string]any{"type": "publish", "room": "lobby", "data": map[string]any{"from": "h3"}})
	stCheckMessage(t, "h2", h2.ExpectSkipping("message"), "lobby", h3.ID, "h3", 1)
	stCheckMessage(t, "h3", h3.ExpectSkipping("message", "ack"), "lobby", h3.ID, "h3", 1)
}

// TestStreamHTTP3OutlivesQUICIdleTimeout checks that a WebSocket over
// HTTP/3 with nothing to say, on a QUIC connection without keep-alives,
// outlives QUIC's idle timeout (30s, which Caddy does not change) with the
// default ping_interval of 30s: over HTTP/3 the server pings every 15s.
func TestStreamHTTP3OutlivesQUICIdleTimeout(t *testing.T) {
	c, cfg := stStartCaddy(t, false, stConfig("", ""))
	cc := stDialH3(t, c, cfg)
	resp, str := stH3Connect(t, cc, c, "/ws/lobby")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("extended CONNECT over HTTP/3: %s", resp.Status)
	}
	h3 := wstest.Wrap(t, "h3", stWSOverStream(t, str, str))
	h3.ExpectWelcome("lobby")
	h3.ExpectSilence(33 * time.Second)
	h3.Send(map[string]any{"type": "publish", "room": "lobby", "data": map[string]any{"from": "h3"}})
	stCheckMessage(t, "h3", h3.ExpectSkipping("message", "ack"), "lobby", h3.ID, "h3", 1)
}

// TestStreamStop checks that `caddy stop` closes WebSockets over HTTP/2 and
// HTTP/3 with 1001 (going away), like those over HTTP/1.1.
func TestStreamStop(t *testing.T) {
	c, cfg := stStartCaddy(t, true, stConfig("", ""))
	h2, h3 := stLobbyPair(t, c, cfg)

	c.Stop()
	h2.ExpectClose(hub.CloseGoingAway, "server stopping")
	h3.ExpectClose(hub.CloseGoingAway, "server stopping")
}

// stLobbyPair opens one WebSocket over HTTP/2 and one over HTTP/3, both in
// "lobby"; the HTTP/2 one has seen the other join.
func stLobbyPair(t *testing.T, c *testcaddy.Caddy, cfg *tls.Config) (h2, h3 *wstest.Client) {
	t.Helper()
	cc2 := stDialH2(t, c, cfg)
	resp, body, err := stH2Connect(t, cc2, c, "/ws/lobby")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("extended CONNECT over HTTP/2: %v", err)
	}
	h2 = wstest.Wrap(t, "h2", stWSOverStream(t, resp.Body, body))
	h2.ExpectWelcome("lobby")
	cc3 := stDialH3(t, c, cfg)
	resp3, str := stH3Connect(t, cc3, c, "/ws/lobby")
	if resp3.StatusCode != http.StatusOK {
		t.Fatalf("extended CONNECT over HTTP/3: %s", resp3.Status)
	}
	h3 = wstest.Wrap(t, "h3", stWSOverStream(t, str, str))
	h3.ExpectWelcome("lobby")
	h2.ExpectSkipping("presence")
	return h2, h3
}
