// Package wstest is a small WebSocket client for end-to-end tests of the
// json protocol: every read is bounded by a timeout, so no test can hang.
package wstest

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Timeout bounds every wait of a Client.
const Timeout = 5 * time.Second

// Frame is a decoded server frame.
type Frame map[string]any

// Type is the frame's "type".
func (f Frame) Type() string { s, _ := f["type"].(string); return s }

// Str returns a string field, or "".
func (f Frame) Str(key string) string { s, _ := f[key].(string); return s }

// Num returns a number field, or -1.
func (f Frame) Num(key string) int64 {
	if n, ok := f[key].(float64); ok {
		return int64(n)
	}
	return -1
}

// Client is a test WebSocket connection.
type Client struct {
	t    testing.TB
	Conn *websocket.Conn
	ID   string // from welcome, when Join or ExpectWelcome read it
	Name string // names the client in failures; default "client <ID>"
	bg   *background
}

// Dial connects to url with optional headers; it fails the test on error.
func Dial(t testing.TB, url string, header http.Header) *Client {
	t.Helper()
	c, resp, err := TryDial(url, header)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (HTTP %d)", url, err, status)
	}
	cl := &Client{t: t, Conn: c}
	t.Cleanup(func() { c.Close() })
	return cl
}

// TryDial connects to url and returns the handshake response on failure.
func TryDial(url string, header http.Header) (*websocket.Conn, *http.Response, error) {
	// wss:// here is a loopback test server with a throwaway certificate
	d := websocket.Dialer{HandshakeTimeout: Timeout, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	return d.Dial(url, header)
}

// Join dials url, reads `welcome` and, when the route has a room, `joined`.
func Join(t testing.TB, url string, pathRoom bool) *Client {
	t.Helper()
	c := Dial(t, url, nil)
	w := c.Expect("welcome")
	c.ID = w.Str("client")
	if pathRoom {
		c.Expect("joined")
	}
	return c
}

// ExpectWelcome reads `welcome`, keeps the client id it gives, and, when
// room is not "", the route room's `joined`, which must name room.
func (c *Client) ExpectWelcome(room string) {
	c.t.Helper()
	c.ID = c.Expect("welcome").Str("client")
	if c.ID == "" {
		c.t.Fatalf("%s: welcome without a client id", c)
	}
	if room == "" {
		return
	}
	if j := c.Expect("joined"); j.Str("room") != room {
		c.t.Fatalf("%s: joined %v, want room %q", c, j, room)
	}
}

// Send writes v as a JSON text frame.
func (c *Client) Send(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.SendRaw(websocket.TextMessage, b)
}

// SendRaw writes one frame as is.
func (c *Client) SendRaw(op int, b []byte) {
	c.t.Helper()
	_ = c.Conn.SetWriteDeadline(time.Now().Add(Timeout))
	if err := c.Conn.WriteMessage(op, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// SendClose writes a close frame with code and reason; the server's answer
// is then read with ExpectClose.
func (c *Client) SendClose(code int, reason string) {
	c.t.Helper()
	msg := websocket.FormatCloseMessage(code, reason)
	if err := c.Conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(Timeout)); err != nil {
		c.t.Fatalf("%s: writing close: %v", c, err)
	}
}

// Read returns the next frame's type and bytes, or an error (a close
// error, or a timeout after d).
func (c *Client) Read(d time.Duration) (int, []byte, error) {
	if c.bg != nil {
		return c.bg.read(d)
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(d))
	return c.Conn.ReadMessage()
}

// Next returns the next frame, decoded; it fails the test after Timeout.
func (c *Client) Next() Frame {
	c.t.Helper()
	_, b, err := c.Read(Timeout)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var f Frame
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatalf("frame %q is not JSON: %v", b, err)
	}
	return f
}

// Expect returns the next frame and fails the test unless its type is typ.
func (c *Client) Expect(typ string) Frame {
	c.t.Helper()
	f := c.Next()
	if f.Type() != typ {
		c.t.Fatalf("got %v, want a %q frame", f, typ)
	}
	return f
}

// ExpectSkipping returns the next frame of type typ, skipping frames whose
// type is in skip; any other frame fails the test.
func (c *Client) ExpectSkipping(typ string, skip ...string) Frame {
	c.t.Helper()
	for {
		f := c.Next()
		if f.Type() == typ {
			return f
		}
		if !contains(skip, f.Type()) {
			c.t.Fatalf("got %v, want a %q frame", f, typ)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ExpectError returns the next frame and fails unless it is an error with
// code.
func (c *Client) ExpectError(code string) Frame {
	c.t.Helper()
	f := c.Expect("error")
	if f.Str("code") != code {
		c.t.Fatalf("got error %v, want code %q", f, code)
	}
	return f
}

// ExpectClose reads until the connection closes and fails unless the
// server's close frame has code and reason.
func (c *Client) ExpectClose(code int, reason string) {
	c.t.Helper()
	deadline := time.Now().Add(3 * Timeout)
	for time.Now().Before(deadline) {
		_, _, err := c.Read(time.Until(deadline))
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			if ce.Code != code || ce.Text != reason {
				c.t.Fatalf("%s: closed with %d %q, want %d %q", c, ce.Code, ce.Text, code, reason)
			}
			return
		}
		c.t.Fatalf("%s: connection ended with %v, want close %d %q", c, err, code, reason)
	}
	c.t.Fatalf("%s: no close within %s", c, 3*Timeout)
}

// ExpectSilence fails if a frame arrives within d.
func (c *Client) ExpectSilence(d time.Duration) {
	c.t.Helper()
	_, b, err := c.Read(d)
	if err == nil {
		c.t.Fatalf("unexpected frame %s", b)
	}
	if !strings.Contains(err.Error(), "timeout") {
		c.t.Fatalf("unexpected end: %v", err)
	}
	// a read deadline leaves gorilla's connection unusable (redial if
	// needed); a client read in the background (Wrap) stays usable
}

// String describes the client.
func (c *Client) String() string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("client %s", c.ID)
}
