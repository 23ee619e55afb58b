// Package wstest is a small WebSocket client for end-to-end tests of the
// json protocol: every read is bounded by a timeout, so no test can hang.
package wstest

import (
	"crypto/tls"
	"encoding/json"
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
	ID   string // from welcome, when Dial read it
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

// Read returns the next frame's type and bytes, or an error (a close
// error, or a timeout after d).
func (c *Client) Read(d time.Duration) (int, []byte, error) {
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

// ExpectClose reads until the connection closes and fails unless the close
// code is code.
func (c *Client) ExpectClose(code int) {
	c.t.Helper()
	deadline := time.Now().Add(3 * Timeout)
	for time.Now().Before(deadline) {
		_, _, err := c.Read(time.Until(deadline))
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			if ce.Code != code {
				c.t.Fatalf("closed with %d %q, want %d", ce.Code, ce.Text, code)
			}
			return
		}
		c.t.Fatalf("connection ended with %v, want close code %d", err, code)
	}
	c.t.Fatalf("no close within %s", 3*Timeout)
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
	// a read deadline leaves gorilla's connection unusable: redial if needed
}

// String describes the client.
func (c *Client) String() string { return fmt.Sprintf("client %s", c.ID) }
