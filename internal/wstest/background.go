package wstest

import (
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Wrap makes a Client of an open WebSocket, such as one carried by an
// HTTP/2 or HTTP/3 stream, named name in failures. Its frames are read in
// the background: pings are answered while the test waits, pongs arrive
// on Pongs, and ExpectSilence leaves it usable.
func Wrap(t testing.TB, name string, ws *websocket.Conn) *Client {
	bg := &background{frames: make(chan read, 64), pongs: make(chan string, 8), done: make(chan struct{})}
	ws.SetPongHandler(func(s string) error {
		select {
		case bg.pongs <- s:
		default:
		}
		return nil
	})
	t.Cleanup(func() { close(bg.done); ws.Close() })
	go bg.loop(ws)
	return &Client{t: t, Conn: ws, Name: name, bg: bg}
}

// Pongs carries the application data of the pongs a wrapped client
// receives; it is nil for a client that is not read in the background.
func (c *Client) Pongs() <-chan string {
	if c.bg == nil {
		return nil
	}
	return c.bg.pongs
}

// background reads a connection's frames on a goroutine of its own.
type background struct {
	frames chan read
	pongs  chan string
	done   chan struct{} // closed when the test is over
	last   error         // the error that ended the connection, once read
}

type read struct {
	op  int
	b   []byte
	err error
}

func (bg *background) loop(ws *websocket.Conn) {
	defer close(bg.frames)
	for {
		op, b, err := ws.ReadMessage()
		select {
		case bg.frames <- read{op, b, err}:
		case <-bg.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// timeoutError is what a background read returns when nothing came in time.
type timeoutError struct{ d time.Duration }

func (e timeoutError) Error() string { return fmt.Sprintf("read timeout: no frame within %s", e.d) }
func (e timeoutError) Timeout() bool { return true }

func (bg *background) read(d time.Duration) (int, []byte, error) {
	if bg.last != nil {
		return 0, nil, bg.last
	}
	select {
	case r := <-bg.frames:
		if r.err != nil {
			bg.last = r.err
		}
		return r.op, r.b, r.err
	case <-time.After(d):
		return 0, nil, timeoutError{d}
	}
}
