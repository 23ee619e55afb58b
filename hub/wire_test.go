package hub_test

// Wire-level tests of the hub's own WebSocket reading: control frames,
// keepalive, RFC 6455 framing errors, frames split or fragmented in every
// way, the close handshake, dropped peers, Hub.Close and many connections.
// Every test runs in both read modes (poller and goroutine per connection),
// and every wait is bounded.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/caddyrooms/caddyrooms/hub"
	"github.com/caddyrooms/caddyrooms/internal/wsframe"
	"github.com/caddyrooms/caddyrooms/internal/wstest"
)

// wireWait bounds every wait of these tests.
const wireWait = 3 * time.Second

// RFC 6455 opcodes and header bits, as a raw client writes them.
const (
	wireCont  byte = 0x0
	wireText  byte = 0x1
	wireClose byte = 0x8
	wirePing  byte = 0x9
	wirePong  byte = 0xA
	wireFin   byte = 0x80
	wireRSV1  byte = 0x40
	wireRSV2  byte = 0x20
	wireRSV3  byte = 0x10
)

// wireMaskKey is the masking key of every raw client frame.
var wireMaskKey = [4]byte{0x9a, 0x3c, 0x5e, 0x71}

// wireEncode encodes one client frame: b0 is the FIN, RSV and opcode byte
// as sent; the payload is masked with wireMaskKey unless masked is false.
func wireEncode(b0 byte, payload []byte, masked bool) []byte {
	return wsframe.FromByte0(b0, payload, wireMaskKey, masked).Encode()
}

// wireFrame is a masked client frame.
func wireFrame(b0 byte, payload string) []byte { return wireEncode(b0, []byte(payload), true) }

// wireClosePayload is a close frame's payload: code and reason.
func wireClosePayload(code int, reason string) string {
	return string(wsframe.ClosePayload(uint16(code), reason))
}

// wireConcat joins frames into one write.
func wireConcat(frames ...[]byte) []byte { return bytes.Join(frames, nil) }

// wireConn is a WebSocket client that writes bytes as given and reads the
// server's frames one by one.
type wireConn struct {
	t   *testing.T
	nc  net.Conn     // the socket, or TLS over it
	tcp *net.TCPConn // the socket
	br  *bufio.Reader
	ID  string // from welcome, when wireJoin read it
}

// wireDial does the HTTP/1.1 upgrade by hand on a fresh TCP connection.
func wireDial(t *testing.T, s *server, path string) *wireConn {
	t.Helper()
	addr := s.Listener.Addr().String()
	nc, err := net.DialTimeout("tcp", addr, wireWait)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	tcp := nc.(*net.TCPConn)
	_ = tcp.SetNoDelay(true)
	if s.tls {
		tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true}) // the test server's own certificate
		_ = tc.SetDeadline(time.Now().Add(wireWait))
		if err := tc.Handshake(); err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		nc = tc
	}
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := base64.StdEncoding.EncodeToString(k[:])
	_ = nc.SetDeadline(time.Now().Add(wireWait))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		t.Fatalf("handshake write: %v", err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("handshake read: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: HTTP %d", resp.StatusCode)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if got, want := resp.Header.Get("Sec-WebSocket-Accept"), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		t.Fatalf("Sec-WebSocket-Accept %q, want %q", got, want)
	}
	_ = nc.SetDeadline(time.Time{})
	return &wireConn{t: t, nc: nc, tcp: tcp, br: br}
}

// wireJoin is wireDial followed by `welcome`, and `joined` when the path
// names a room.
func wireJoin(t *testing.T, s *server, path string) *wireConn {
	t.Helper()
	c := wireDial(t, s, path)
	c.ID = c.expectJSON("welcome").Str("client")
	if path != "/" {
		c.expectJSON("joined")
	}
	return c
}

// write writes b in one call.
func (c *wireConn) write(b []byte) {
	c.t.Helper()
	_ = c.nc.SetWriteDeadline(time.Now().Add(wireWait))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// writeSplit writes b in pieces of the given sizes (the last one repeated),
// sleeping pause between writes, so that the server reads each piece alone.
func (c *wireConn) writeSplit(b []byte, pause time.Duration, sizes ...int) {
	c.t.Helper()
	for i := 0; len(b) > 0; i++ {
		n := min(sizes[min(i, len(sizes)-1)], len(b))
		c.write(b[:n])
		b = b[n:]
		time.Sleep(pause)
	}
}

// wireServerFrame is one server frame.
type wireServerFrame struct {
	fin     bool
	op      byte
	payload []byte
}

// readFrame reads one server frame within d. Server frames must be
// unmasked and have no reserved bit set.
func (c *wireConn) readFrame(d time.Duration) (wireServerFrame, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return wireServerFrame{}, err
	}
	f := wireServerFrame{fin: h[0]&0x80 != 0, op: h[0] & 0x0F}
	if h[0]&0x70 != 0 {
		return f, fmt.Errorf("server frame with reserved bits %#x", h[0]&0x70)
	}
	if h[1]&0x80 != 0 {
		return f, errors.New("masked server frame")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return f, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.br, ext[:]); err != nil {
			return f, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if n > 1<<20 {
		return f, fmt.Errorf("server frame of %d bytes", n)
	}
	f.payload = make([]byte, n)
	if _, err := io.ReadFull(c.br, f.payload); err != nil {
		return f, err
	}
	return f, nil
}

// next reads the next server frame; it fails the test on error.
func (c *wireConn) next() wireServerFrame {
	c.t.Helper()
	f, err := c.readFrame(wireWait)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return f
}

// expectJSON reads the next frame and fails unless it is a whole text frame
// holding a JSON object of type typ.
func (c *wireConn) expectJSON(typ string) wstest.Frame {
	c.t.Helper()
	f := c.next()
	if f.op != wireText || !f.fin {
		c.t.Fatalf("got frame op %d fin %v %q, want a text frame %q", f.op, f.fin, f.payload, typ)
	}
	var m wstest.Frame
	if err := json.Unmarshal(f.payload, &m); err != nil {
		c.t.Fatalf("frame %q is not JSON: %v", f.payload, err)
	}
	if m.Type() != typ {
		c.t.Fatalf("got %v, want a %q frame", m, typ)
	}
	return m
}

// expectPong reads the next frame and fails unless it is a pong of payload.
func (c *wireConn) expectPong(payload []byte) {
	c.t.Helper()
	f := c.next()
	if f.op != wirePong || !f.fin || !bytes.Equal(f.payload, payload) {
		c.t.Fatalf("got frame op %d fin %v %q, want a pong %q", f.op, f.fin, f.payload, payload)
	}
}

// expectClose reads the next frame and fails unless it is a close frame
// with code and reason.
func (c *wireConn) expectClose(code int, reason string) {
	c.t.Helper()
	f := c.next()
	if f.op != wireClose {
		c.t.Fatalf("got frame op %d %q, want a close %d", f.op, f.payload, code)
	}
	if len(f.payload) < 2 {
		c.t.Fatalf("close frame without a code: %q", f.payload)
	}
	if got := int(binary.BigEndian.Uint16(f.payload)); got != code || string(f.payload[2:]) != reason {
		c.t.Fatalf("closed with %d %q, want %d %q", got, f.payload[2:], code, reason)
	}
}

// expectEOF fails unless the server ends the TCP stream, with nothing more
// sent, within wireWait.
func (c *wireConn) expectEOF() {
	c.t.Helper()
	f, err := c.readFrame(wireWait)
	var ne net.Error
	switch {
	case err == nil:
		c.t.Fatalf("frame op %d %q after the close frame", f.op, f.payload)
	case errors.As(err, &ne) && ne.Timeout():
		c.t.Fatalf("the server did not end the connection within %s", wireWait)
	}
	// io.EOF, or a reset: the server closed its end
}

// wireWaitFor polls cond until it holds, and fails the test after wireWait.
func wireWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wireWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", wireWait, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wireWaitNoClients(t *testing.T, s *server) {
	t.Helper()
	wireWaitFor(t, "hub.ClientCount() == 0", func() bool { return s.hub.ClientCount() == 0 })
}

func wireJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// 1. A client's ping gets a pong with the same payload.
func TestWirePingPong(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{}, o)

		t.Run("gorilla", func(t *testing.T) {
			c := wstest.Join(t, s.url("/"), false)
			pongs := make(chan string, 4)
			c.Conn.SetPongHandler(func(p string) error { pongs <- p; return nil })
			if err := c.Conn.WriteControl(websocket.PingMessage, []byte("ping-1234"), time.Now().Add(wireWait)); err != nil {
				t.Fatal(err)
			}
			c.Send(map[string]any{"type": "join", "room": "r", "id": "1"})
			c.Expect("joined") // the pong, answered first, was read on the way
			select {
			case p := <-pongs:
				if p != "ping-1234" {
					t.Fatalf("pong %q, want %q", p, "ping-1234")
				}
			default:
				t.Fatal("no pong before the answer to the frame sent after the ping")
			}
		})

		t.Run("raw", func(t *testing.T) {
			c := wireJoin(t, s, "/")
			full := make([]byte, 125) // the largest control payload, every byte value
			for i := range full {
				full[i] = byte(i * 7)
			}
			for _, p := range [][]byte{nil, []byte("x"), full} {
				c.write(wireEncode(wireFin|wirePing, p, true))
				c.expectPong(p)
			}
			// three pings in one write: three pongs, in order
			c.write(wireConcat(wireFrame(wireFin|wirePing, "a"), wireFrame(wireFin|wirePing, "bb"), wireFrame(wireFin|wirePing, "ccc")))
			for _, p := range []string{"a", "bb", "ccc"} {
				c.expectPong([]byte(p))
			}
			// an unsolicited pong is ignored
			c.write(wireFrame(wireFin|wirePong, "unsolicited"))
			c.write(wireFrame(wireFin|wireText, `{"type":"join","room":"r","id":"after"}`))
			if f := c.expectJSON("joined"); f.Str("id") != "after" {
				t.Fatalf("joined: %v", f)
			}
		})
	})
}

// 2. Keepalive: a peer that answers pings, or that only sends data, stays;
// one that is silent is closed with 1008 "pong timeout".
func TestWireKeepalive(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		cfg := hub.Config{PingInterval: 200 * time.Millisecond, PongTimeout: 500 * time.Millisecond} // room for a loaded machine under -race
		const stay = 1500 * time.Millisecond

		t.Run("answers pings", func(t *testing.T) {
			t.Parallel()
			s := newServer(t, cfg, o)
			c := wstest.Join(t, s.url("/"), false)
			var pings atomic.Int32
			c.Conn.SetPingHandler(func(p string) error {
				pings.Add(1)
				return c.Conn.WriteControl(websocket.PongMessage, []byte(p), time.Now().Add(wireWait))
			})
			start := time.Now()
			sent := make(chan error, 1)
			time.AfterFunc(stay, func() { // WriteMessage may run beside the ping handler's WriteControl
				sent <- c.Conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"join","room":"r","id":"late"}`))
			})
			f := c.Expect("joined") // reads, answering pings, until the late join is answered
			if err := <-sent; err != nil {
				t.Fatalf("write: %v", err)
			}
			if f.Str("id") != "late" || time.Since(start) < stay {
				t.Fatalf("joined %v after %s", f, time.Since(start))
			}
			if n := pings.Load(); n < 2 {
				t.Fatalf("%d pings in %s with ping_interval 200ms", n, stay)
			}
			if s.hub.Client(c.ID) == nil {
				t.Fatal("client gone from the hub")
			}
		})

		t.Run("sends data but no pongs", func(t *testing.T) {
			t.Parallel()
			s := newServer(t, cfg, o)
			c := wstest.Join(t, s.url("/"), false)
			var pings atomic.Int32
			c.Conn.SetPingHandler(func(string) error { pings.Add(1); return nil })
			start := time.Now()
			for i := 0; time.Since(start) < stay; i++ {
				id := fmt.Sprint(i)
				c.Send(map[string]any{"type": "join", "room": "r", "id": id})
				if f := c.Expect("joined"); f.Str("id") != id {
					t.Fatalf("joined: %v", f)
				}
				time.Sleep(100 * time.Millisecond)
			}
			c.Send(map[string]any{"type": "join", "room": "r2", "id": "last"})
			c.Expect("joined")
			if pings.Load() == 0 {
				t.Fatal("no ping")
			}
		})

		t.Run("silent", func(t *testing.T) {
			t.Parallel()
			s := newServer(t, cfg, o)
			c := wstest.Join(t, s.url("/"), false)
			var pings atomic.Int32
			c.Conn.SetPingHandler(func(string) error { pings.Add(1); return nil }) // never answers
			start := time.Now()
			_ = c.Conn.SetReadDeadline(start.Add(wireWait))
			_, b, err := c.Conn.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("got %q, %v after %s; want close 1008 \"pong timeout\"", b, err, time.Since(start))
			}
			if ce.Code != hub.ClosePolicy || ce.Text != "pong timeout" {
				t.Fatalf("closed with %d %q, want 1008 \"pong timeout\"", ce.Code, ce.Text)
			}
			if pings.Load() == 0 {
				t.Fatal("closed without a ping first")
			}
			t.Logf("closed after %s, %d pings", time.Since(start), pings.Load())
			c.Conn.Close()
			wireWaitNoClients(t, s)
		})
	})
}

// 3. Frames that break RFC 6455 close the connection with the right code
// and reason;
// the server then ends the TCP connection and forgets the client.
func TestWireProtocolErrors(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{MaxMessageSize: 1024}, o)
		join := `{"type":"join","room":"r"}`
		huge := []byte{wireFin | wireText, 0x80 | 127, 0, 0, 0, 0, 0x40, 0, 0, 0} // 1 GiB announced, no payload
		huge = append(huge, wireMaskKey[:]...)
		cases := []struct {
			name   string
			data   []byte
			code   int
			reason string
		}{
			{"unmasked", wireEncode(wireFin|wireText, []byte(join), false), websocket.CloseProtocolError, "client frame not masked"},
			{"rsv1", wireFrame(wireFin|wireRSV1|wireText, join), websocket.CloseProtocolError, "reserved bits set"},
			{"rsv2", wireFrame(wireFin|wireRSV2|wireText, join), websocket.CloseProtocolError, "reserved bits set"},
			{"rsv3 on a ping", wireFrame(wireFin|wireRSV3|wirePing, "p"), websocket.CloseProtocolError, "reserved bits set"},
			{"unknown data opcode", wireFrame(wireFin|0x3, join), websocket.CloseProtocolError, "unknown opcode 3"},
			{"unknown control opcode", wireFrame(wireFin|0xB, ""), websocket.CloseProtocolError, "unknown opcode 11"},
			{"control frame over 125 bytes", wireFrame(wireFin|wirePing, strings.Repeat("p", 126)), websocket.CloseProtocolError, "fragmented or oversized control frame"},
			{"fragmented ping", wireFrame(wirePing, "p"), websocket.CloseProtocolError, "fragmented or oversized control frame"},
			{"continuation with no message", wireFrame(wireFin|wireCont, join), websocket.CloseProtocolError, "continuation frame with no message"},
			{"new message inside a fragmented one", wireConcat(wireFrame(wireText, `{"type":`), wireFrame(wireFin|wireText, join)), websocket.CloseProtocolError, "new message before the last one ended"},
			{"close of one byte", wireFrame(wireFin|wireClose, "\x03"), websocket.CloseProtocolError, "close frame of one byte"},
			{"close with code 1005", wireFrame(wireFin|wireClose, wireClosePayload(1005, "")), websocket.CloseProtocolError, "invalid close code"},
			{"close with code 999", wireFrame(wireFin|wireClose, wireClosePayload(999, "")), websocket.CloseProtocolError, "invalid close code"},
			{"close reason not UTF-8", wireFrame(wireFin|wireClose, wireClosePayload(1000, "\xff")), websocket.CloseInvalidFramePayloadData, "close reason is not valid UTF-8"},
			{"text not UTF-8", wireFrame(wireFin|wireText, "{\"type\":\"join\",\"room\":\"r\xc3\x28\"}"), websocket.CloseInvalidFramePayloadData, "text message is not valid UTF-8"},
			{"fragmented text not UTF-8", wireConcat(wireFrame(wireText, `{"type":"join",`), wireFrame(wireFin|wireCont, "\"room\":\"\xed\xa0\x80\"}")), websocket.CloseInvalidFramePayloadData, "text message is not valid UTF-8"},
			{"message over max_message_size", wireFrame(wireFin|wireText, strings.Repeat(" ", 1025)), websocket.CloseMessageTooBig, "message over max_message_size"},
			{"fragments over max_message_size", wireConcat(wireFrame(wireText, strings.Repeat(" ", 500)), wireFrame(wireCont, strings.Repeat(" ", 500)), wireFrame(wireFin|wireCont, strings.Repeat(" ", 25))), websocket.CloseMessageTooBig, "message over max_message_size"},
			{"1 GiB announced", huge, websocket.CloseMessageTooBig, "message over max_message_size"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := wireJoin(t, s, "/")
				c.write(tc.data)
				c.expectClose(tc.code, tc.reason)
				c.expectEOF()
				c.nc.Close()
				wireWaitNoClients(t, s)
			})
		}

		// at the limit is fine, in one frame or in fragments
		t.Run("at max_message_size", func(t *testing.T) {
			c := wireJoin(t, s, "/r")
			head, tail := `{"type":"publish","room":"r","id":"big","data":"`, `"}`
			msg := head + strings.Repeat("y", 1024-len(head)-len(tail)) + tail
			c.write(wireFrame(wireFin|wireText, msg))
			c.expectJSON("message")
			if f := c.expectJSON("ack"); f.Str("id") != "big" || f.Num("seq") != 1 {
				t.Fatalf("ack: %v", f)
			}
			c.write(wireConcat(wireFrame(wireText, msg[:1000]), wireFrame(wireCont, msg[1000:1020]), wireFrame(wireFin|wireCont, msg[1020:])))
			c.expectJSON("message")
			if f := c.expectJSON("ack"); f.Num("seq") != 2 {
				t.Fatalf("ack: %v", f)
			}
		})
	})
}

// 4. Frames written a byte at a time are put together.
func TestWireByteByByte(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{}, o)
		member := wstest.Join(t, s.url("/r"), true)
		c := wireJoin(t, s, "/")

		c.writeSplit(wireFrame(wireFin|wireText, `{"type":"join","room":"r","id":"1"}`), time.Millisecond, 1)
		if f := c.expectJSON("joined"); f.Str("room") != "r" || f.Str("id") != "1" || f.Num("members") != 2 {
			t.Fatalf("joined: %v", f)
		}
		if f := member.Expect("presence"); f.Str("client") != c.ID {
			t.Fatalf("presence: %v", f)
		}
		c.writeSplit(wireFrame(wireFin|wireText, `{"type":"publish","room":"r","id":"2","data":{"k":"v"}}`), time.Millisecond, 1)
		for _, f := range []wstest.Frame{c.expectJSON("message"), member.Expect("message")} {
			if f.Str("from") != c.ID || f.Num("seq") != 1 || fmt.Sprint(f["data"]) != "map[k:v]" {
				t.Fatalf("message: %v", f)
			}
		}
		if f := c.expectJSON("ack"); f.Str("id") != "2" || f.Num("seq") != 1 {
			t.Fatalf("ack: %v", f)
		}

		// a frame with a 16-bit length, split inside its header, then two
		// frames whose boundary falls inside a write
		data := strings.Repeat("z", 300)
		big := wireFrame(wireFin|wireText, `{"type":"publish","room":"r","id":"3","data":"`+data+`"}`)
		c.writeSplit(big, time.Millisecond, 1, 1, 1, 1, 1, 1, 1, 1, 37)
		if f := member.Expect("message"); f.Str("data") != data || f.Num("seq") != 2 {
			t.Fatalf("message: %v", f)
		}
		c.expectJSON("message")
		c.expectJSON("ack")
		two := wireConcat(wireFrame(wireFin|wireText, `{"type":"publish","room":"r","id":"4","data":4}`), wireFrame(wireFin|wireText, `{"type":"publish","room":"r","id":"5","data":5}`))
		c.writeSplit(two, time.Millisecond, 30)
		for _, want := range []int64{4, 5} {
			if f := member.Expect("message"); f.Num("data") != want || f.Num("seq") != want-1 {
				t.Fatalf("message: %v, want data %d", f, want)
			}
			c.expectJSON("message")
			if f := c.expectJSON("ack"); f.Num("seq") != want-1 {
				t.Fatalf("ack: %v", f)
			}
		}
	})
}

// 5. A text message in three fragments, with a ping between them, is one
// message; UTF-8 is checked on the whole message, not on each fragment.
func TestWireFragmented(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{}, o)
		// "é" (C3 A9) split across the first two fragments
		parts := []string{`{"type":"publish","room":"r","id":"frag","data":"caf` + "\xc3", "\xa9 au lait, ", `s'il vous plaît"}`}
		const want = "café au lait, s'il vous plaît"
		frames := [][]byte{
			wireFrame(wireText, parts[0]),
			wireFrame(wireFin|wirePing, "between"),
			wireFrame(wireCont, parts[1]),
			wireFrame(wireFin|wireCont, parts[2]),
		}
		for _, oneWrite := range []bool{false, true} {
			t.Run(fmt.Sprintf("one write %v", oneWrite), func(t *testing.T) {
				c := wireJoin(t, s, "/")
				c.write(wireFrame(wireFin|wireText, `{"type":"join","room":"r"}`))
				seq := c.expectJSON("joined").Num("seq") + 1 // the room keeps its numbering
				if oneWrite {
					c.write(wireConcat(frames...))
				} else {
					for _, f := range frames {
						c.write(f)
						time.Sleep(5 * time.Millisecond)
					}
				}
				c.expectPong([]byte("between")) // answered before the message ends
				if f := c.expectJSON("message"); f.Str("data") != want || f.Num("seq") != seq {
					t.Fatalf("message: %v", f)
				}
				if f := c.expectJSON("ack"); f.Str("id") != "frag" || f.Num("seq") != seq {
					t.Fatalf("ack: %v", f)
				}
				c.write(wireFrame(wireFin|wireClose, wireClosePayload(1000, "")))
				c.expectClose(1000, "")
				c.expectEOF()
				c.nc.Close()
				wireWaitFor(t, "room r gone", func() bool { _, ok, _ := s.hub.Room("r"); return !ok })
			})
		}
	})
}

// Large messages span many reads of the server (larger than its read
// buffers): 16- and 64-bit lengths, in one write, in pieces, in fragments.
func TestWireLargeMessages(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{MaxMessageSize: 256 << 10}, o)
		member := wstest.Join(t, s.url("/r"), true)
		c := wireJoin(t, s, "/r")
		member.Expect("presence")
		cases := []struct {
			size, chunk, fragments int
		}{
			{size: 60 << 10},
			{size: 200 << 10},
			{size: 200 << 10, chunk: 1000},
			{size: 70000, chunk: 4096},
			{size: 70000, chunk: 4097},
			{size: 200 << 10, fragments: 4},
			{size: 200 << 10, chunk: 3000, fragments: 7},
		}
		for i, tc := range cases {
			data := make([]byte, tc.size)
			for j := range data {
				data[j] = 'a' + byte((j*7+i)%26)
			}
			msg := `{"type":"publish","room":"r","data":"` + string(data) + `"}`
			var b []byte
			if tc.fragments == 0 {
				b = wireFrame(wireFin|wireText, msg)
			} else {
				step := len(msg)/tc.fragments + 1
				for k := 0; k < len(msg); k += step {
					op := wireCont
					if k == 0 {
						op = wireText
					}
					if k+step >= len(msg) {
						op |= wireFin
					}
					b = append(b, wireFrame(op, msg[k:min(k+step, len(msg))])...)
				}
			}
			if tc.chunk == 0 {
				c.write(b)
			} else {
				c.writeSplit(b, 0, tc.chunk)
			}
			if f := member.Expect("message"); f.Str("data") != string(data) || f.Num("seq") != int64(i+1) {
				t.Fatalf("%+v: message seq %d with %d bytes of data, want seq %d and the %d bytes sent", tc, f.Num("seq"), len(f.Str("data")), i+1, len(data))
			}
			c.expectJSON("message")
			if f := c.expectJSON("ack"); f.Num("seq") != int64(i+1) {
				t.Fatalf("%+v: ack %v", tc, f)
			}
		}
	})
}

// 6. The close handshake: the server answers a close frame with 1000 and
// ends the connection; nothing sent after the close frame is handled.
func TestWireCloseHandshake(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{}, o)
		for _, tc := range []struct{ name, payload string }{
			{"code 1000", wireClosePayload(1000, "done")},
			{"no code", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := wireJoin(t, s, "/r")
				c.write(wireFrame(wireFin|wireClose, tc.payload))
				c.expectClose(1000, "")
				c.expectEOF()
				c.nc.Close()
				wireWaitNoClients(t, s)
				if _, ok, _ := s.hub.Room("r"); ok {
					t.Fatal("room r outlived its only member")
				}
			})
		}

		t.Run("frames after the close frame", func(t *testing.T) {
			member := wstest.Join(t, s.url("/r"), true)
			c := wireJoin(t, s, "/r")
			member.Expect("presence")
			c.write(wireConcat(
				wireFrame(wireFin|wireClose, wireClosePayload(1000, "")),
				wireFrame(wireFin|wireText, `{"type":"publish","room":"r","data":"after close"}`),
			))
			c.expectClose(1000, "")
			c.expectEOF()
			c.nc.Close()
			if f := member.Expect("presence"); f.Str("event") != "leave" || f.Str("client") != c.ID {
				t.Fatalf("presence: %v", f)
			}
			if d, ok, _ := s.hub.Room("r"); !ok || d.Seq != 0 || d.Members != 1 {
				t.Fatalf("room r: %+v %v; the publish after the close frame was handled", d, ok)
			}
		})
	})
}

// 7. A peer that drops its TCP connection without a close frame is taken
// out of its rooms and of the hub.
func TestWireAbruptDisconnect(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		for _, rst := range []bool{false, true} {
			name := "fin"
			if rst {
				name = "rst"
			}
			t.Run(name, func(t *testing.T) {
				s := newServer(t, hub.Config{}, o)
				member := wstest.Join(t, s.url("/shared"), true)
				c := wireJoin(t, s, "/gone")
				c.write(wireFrame(wireFin|wireText, `{"type":"join","room":"shared","id":"s"}`))
				c.expectJSON("joined")
				member.Expect("presence")
				if rst {
					_ = c.tcp.SetLinger(0)
				}
				c.nc.Close()

				if f := member.Expect("presence"); f.Str("event") != "leave" || f.Str("client") != c.ID || f.Num("members") != 1 {
					t.Fatalf("presence: %v", f)
				}
				wireWaitFor(t, "room gone removed", func() bool { _, ok, _ := s.hub.Room("gone"); return !ok })
				wireWaitFor(t, "one client left", func() bool { return s.hub.ClientCount() == 1 })
				if d, ok, _ := s.hub.Room("shared"); !ok || d.Members != 1 || d.Clients[0].ID != member.ID {
					t.Fatalf("room shared: %+v %v", d, ok)
				}

				member.Conn.Close() // gorilla's Close sends no close frame
				wireWaitNoClients(t, s)
				wireWaitFor(t, "room shared removed", func() bool { _, ok, _ := s.hub.Room("shared"); return !ok })
			})
		}

		// frames sent just before the end of the stream are still handled
		t.Run("half close", func(t *testing.T) {
			s := newServer(t, hub.Config{}, o)
			member := wstest.Join(t, s.url("/r"), true)
			c := wireJoin(t, s, "/r")
			member.Expect("presence")
			c.write(wireFrame(wireFin|wireText, `{"type":"publish","room":"r","id":"last","data":"last words"}`))
			if err := c.nc.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if f := member.Expect("message"); f.Str("data") != "last words" || f.Str("from") != c.ID {
				t.Fatalf("message: %v", f)
			}
			c.expectJSON("message")
			if f := c.expectJSON("ack"); f.Str("id") != "last" {
				t.Fatalf("ack: %v", f)
			}
			for { // then at most a close frame, and the end of the stream
				f, err := c.readFrame(wireWait)
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						t.Fatal("the server did not end the connection after the peer's end of stream")
					}
					break
				}
				if f.op != wireClose {
					t.Fatalf("frame op %d %q after the ack", f.op, f.payload)
				}
			}
			if f := member.Expect("presence"); f.Str("event") != "leave" || f.Str("client") != c.ID {
				t.Fatalf("presence: %v", f)
			}
			wireWaitFor(t, "one client left", func() bool { return s.hub.ClientCount() == 1 })
		})
	})
}

// 8. Hub.Close sends every connection its close frame and returns once
// they have all ended.
func TestWireHubClose(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{}, o)
		const n = 5
		clients := make([]*wstest.Client, n)
		for i := range clients {
			clients[i] = wstest.Join(t, s.url("/r"), true)
		}
		raw := wireJoin(t, s, "/r")
		if got := s.hub.ClientCount(); got != n+1 {
			t.Fatalf("%d clients, want %d", got, n+1)
		}

		errs := make(chan error, n+1)
		for _, c := range clients {
			go func(c *websocket.Conn) {
				defer c.Close()
				_ = c.SetReadDeadline(time.Now().Add(wireWait))
				for {
					_, _, err := c.ReadMessage() // presence frames until the close
					if err == nil {
						continue
					}
					var ce *websocket.CloseError
					if !errors.As(err, &ce) || ce.Code != hub.CloseGoingAway || ce.Text != "bye" {
						errs <- fmt.Errorf("gorilla client: %v, want close 1001 \"bye\"", err)
						return
					}
					errs <- nil
					return
				}
			}(c.Conn)
		}
		go func() {
			defer raw.nc.Close()
			for {
				f, err := raw.readFrame(wireWait)
				switch {
				case err != nil:
					errs <- fmt.Errorf("raw client: %v before a close frame", err)
					return
				case f.op != wireClose:
					continue
				case len(f.payload) < 2 || binary.BigEndian.Uint16(f.payload) != hub.CloseGoingAway || string(f.payload[2:]) != "bye":
					errs <- fmt.Errorf("raw client: close %q, want 1001 \"bye\"", f.payload)
					return
				}
				// the close frame is the last thing sent
				f, err = raw.readFrame(wireWait)
				var ne net.Error
				switch {
				case err == nil:
					errs <- fmt.Errorf("raw client: frame op %d after the close frame", f.op)
					return
				case errors.As(err, &ne) && ne.Timeout():
					errs <- errors.New("raw client: the server did not end the connection after its close frame")
					return
				}
				errs <- nil
				return
			}
		}()

		const timeout = 5 * time.Second
		start := time.Now()
		returned := make(chan struct{})
		go func() { s.hub.Close(hub.CloseGoingAway, "bye", timeout); close(returned) }()
		for i := 0; i < n+1; i++ {
			if err := <-errs; err != nil { // each reader ends within wireWait
				t.Error(err)
			}
		}
		select {
		case <-returned:
		case <-time.After(timeout + 2*time.Second):
			t.Fatal("Hub.Close did not return")
		}
		// every client answered or hung up, so Close did not need its timeout
		if d := time.Since(start); d >= timeout {
			t.Errorf("Hub.Close took %s: it waited for its timeout", d)
		}
		if got := s.hub.ClientCount(); got != 0 {
			t.Errorf("%d clients after Hub.Close returned", got)
		}
		if !s.hub.Closed() {
			t.Error("Closed() is false")
		}

		// a connection after Close is turned away with 1001
		late := wstest.Dial(t, s.url("/r"), nil)
		_, _, err := late.Read(wireWait)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != hub.CloseGoingAway {
			t.Fatalf("connection after Close: %v, want close 1001", err)
		}
	})
}

// 9. 200 members of one room all get one member's 50 messages, in order.
func TestWireManyClients(t *testing.T) {
	eachReadMode(t, func(t *testing.T, o readMode) {
		s := newServer(t, hub.Config{}, o)
		const clients, messages = 200, 50
		cs := make([]*wstest.Client, clients)
		for i := range cs {
			cs[i] = wstest.Join(t, s.url("/many"), true)
		}
		if got := s.hub.ClientCount(); got != clients {
			t.Fatalf("%d clients, want %d", got, clients)
		}
		if d, ok, _ := s.hub.Room("many"); !ok || d.Members != clients {
			t.Fatalf("room: %d members %v", d.Members, ok)
		}
		pub := cs[0]
		for i := 1; i <= messages; i++ {
			pub.SendRaw(websocket.TextMessage, wireJSON(t, map[string]any{"type": "publish", "room": "many", "data": i, "id": fmt.Sprint(i)}))
		}
		for k, c := range cs {
			got, acks := 0, 0
			for got < messages || (c == pub && acks < messages) {
				f := c.Next()
				switch f.Type() {
				case "presence", "presence_diff":
				case "message":
					got++
					if f.Num("seq") != int64(got) || f.Num("data") != int64(got) || f.Str("from") != pub.ID {
						t.Fatalf("client %d: message %v, want seq and data %d", k, f, got)
					}
				case "ack":
					acks++
					if c != pub || f.Num("seq") != int64(acks) || f.Str("id") != fmt.Sprint(acks) || acks > got {
						t.Fatalf("client %d: ack %v after %d messages", k, f, got)
					}
				default:
					t.Fatalf("client %d: %v", k, f)
				}
			}
		}
		if d, _, _ := s.hub.Room("many"); d.Seq != messages {
			t.Fatalf("room seq %d, want %d", d.Seq, messages)
		}
	})
}
