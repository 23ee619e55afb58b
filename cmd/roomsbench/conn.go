package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// wsConn is one client connection: a gorilla connection, a write lock (the
// publisher goroutine and the reader, which answers Socket.IO pings, both
// write) and a reusable read buffer, so the receive path does not allocate.
//
// Fast clients are read by the epoll receiver once they have joined; rc and
// messagesRead let it pick up where gorilla left off.
type wsConn struct {
	ws  *websocket.Conn
	wmu sync.Mutex
	buf []byte

	rc           *recordConn
	messagesRead int // data messages read through gorilla
}

// dialOptions bounds and shapes one dial.
type dialOptions struct {
	timeout time.Duration // TCP connect plus WebSocket handshake
	// recvBuffer, when > 0, sets SO_RCVBUF on the socket: slow consumers use
	// a small one so that the server feels their backpressure within seconds.
	recvBuffer int
}

// dial opens one WebSocket connection to url.
func dial(ctx context.Context, url string, opt dialOptions) (*wsConn, error) {
	nd := &net.Dialer{Timeout: opt.timeout}
	if opt.recvBuffer > 0 {
		size := opt.recvBuffer
		nd.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, size)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	var rc *recordConn
	d := websocket.Dialer{
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			rc = &recordConn{Conn: c, recording: true}
			return rc, nil
		},
		HandshakeTimeout: opt.timeout,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
	}
	ctx, cancel := context.WithTimeout(ctx, opt.timeout)
	defer cancel()
	ws, resp, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (HTTP %s)", err, resp.Status)
		}
		return nil, err
	}
	return &wsConn{ws: ws, buf: make([]byte, 0, 512), rc: rc}, nil
}

// readFrame returns the next data frame. The slice is valid until the next
// call.
func (c *wsConn) readFrame() ([]byte, error) {
	_, r, err := c.ws.NextReader()
	if err != nil {
		return nil, err
	}
	c.messagesRead++
	b := c.buf[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			c.buf = b
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// writeText sends one text frame.
func (c *wsConn) writeText(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// close drops the connection without a closing handshake.
func (c *wsConn) close() error { return c.ws.Close() }
