package main

import (
	"bytes"
	"errors"
	"net"
	"sync"
)

// recordConn is the net.Conn under a gorilla connection. While recording, it
// keeps a copy of every byte gorilla reads, so that once the client has
// joined its room and the epoll receiver takes the socket over, the bytes
// gorilla already buffered but did not hand out are not lost.
type recordConn struct {
	net.Conn
	mu        sync.Mutex
	recording bool
	record    []byte
}

func (c *recordConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	if c.recording {
		c.record = append(c.record, p[:n]...)
	}
	c.mu.Unlock()
	return n, err
}

// handOver stops recording and returns the bytes gorilla read but did not
// deliver: the recording less the HTTP upgrade response and the first
// messagesRead data messages.
func (c *recordConn) handOver(messagesRead int) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recording = false
	rec := c.record
	c.record = nil
	return unreadBytes(rec, messagesRead)
}

// stopRecording ends the recording of a connection that gorilla keeps
// reading (slow consumers, the -reader gorilla path).
func (c *recordConn) stopRecording() {
	c.mu.Lock()
	c.recording = false
	c.record = nil
	c.mu.Unlock()
}

// unreadBytes cuts the HTTP response head and the first n messages off rec.
func unreadBytes(rec []byte, n int) ([]byte, error) {
	h := bytes.Index(rec, []byte("\r\n\r\n"))
	if h < 0 {
		return nil, errors.New("recording holds no complete HTTP response")
	}
	rest, ok := skipMessages(rec[h+4:], n)
	if !ok {
		return nil, errors.New("recording holds fewer messages than gorilla delivered")
	}
	return append([]byte(nil), rest...), nil
}

// fd returns the socket's file descriptor. The receiver reads it directly;
// the net.TCPConn stays referenced (by the gorilla connection) so it is not
// closed under it.
func (c *recordConn) fd() (int, error) {
	tc, ok := c.Conn.(*net.TCPConn)
	if !ok {
		return -1, errors.New("not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(s uintptr) { fd = int(s) }); err != nil {
		return -1, err
	}
	return fd, nil
}
