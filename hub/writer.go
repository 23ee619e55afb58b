package hub

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// writeLoop writes everything queued, in as few writes as it can, until
// the queue is empty; then it exits. After the close frame it closes the
// connection's write side and signals done.
func (c *Client) writeLoop() { c.writeFrom(nil) }

// writeFrom is writeLoop after first, frames that are no longer queued
// but still counted in the budget: what an inline write left.
func (c *Client) writeFrom(first []*Frame) {
	bufs := buffersPool.Get().(*iovecs)
	defer buffersPool.Put(bufs)
	written := 0 // bytes of the last batch written and still counted
	if len(first) > 0 {
		var err error
		if written, err = c.writeCounted(bufs, first); err != nil {
			c.finish(err)
			return
		}
	}
	for {
		batch, final, dropped := c.takeBatch(written)
		written = 0
		if batch == nil && final == nil && dropped == 0 {
			return
		}
		var err error
		if dropped > 0 && c.cfg.Protocol == JSON {
			err = c.write(bufs, []*Frame{droppedFrame(dropped)})
		}
		if err == nil && len(batch) > 0 {
			written, err = c.writeCounted(bufs, batch)
		}
		if err == nil && final != nil {
			err = c.write(bufs, []*Frame{final})
		}
		c.recycle(batch)
		if err != nil || final != nil {
			c.finish(err)
			return
		}
	}
}

// takeBatch takes every queued frame, once written (the bytes the last
// batch still counted) are out of the budget. When nothing is left it
// marks the writer stopped, under the same lock, so a later send starts a
// new one. The batch's bytes stay counted in the budget until written.
func (c *Client) takeBatch(written int) (batch []*Frame, final *Frame, dropped int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queued -= written
	batch, final, dropped = c.queue, c.final, c.dropped
	c.final, c.dropped = nil, 0
	if len(batch) == 0 && final == nil && dropped == 0 {
		c.writing = false
		if cap(c.queue) > 64 { // let an idle connection's queue go
			c.queue, c.spare = nil, nil
		}
		return nil, nil, 0
	}
	c.queue, c.spare = c.spare[:0], nil
	return batch, final, dropped
}

// recycle hands the batch's backing array back as the next spare queue.
func (c *Client) recycle(batch []*Frame) {
	clear(batch)
	c.mu.Lock()
	if c.spare == nil {
		c.spare = batch[:0]
	}
	c.mu.Unlock()
}

// finish ends the writing side: after the close frame it half-closes the
// connection so the peer reads the close frame before the end of the
// stream; after a failed write it closes the connection.
func (c *Client) finish(err error) {
	if err != nil {
		c.writeFailed(err)
	}
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok && err == nil {
		_ = cw.CloseWrite()
	} else {
		_ = c.conn.Close()
		c.endReadingAfter(0) // the poller hears nothing of a closed socket
	}
	close(c.done)
}

// writeFailed refuses further frames after a failed write, and logs it
// once. A write that made no progress for write_timeout is a slow client
// cut off, unless it was cut off already; a peer that went away is an
// ordinary disconnect.
func (c *Client) writeFailed(err error) {
	c.mu.Lock()
	wasClosing, queued := c.closing, c.queued
	c.closing = true
	c.clearQueueLocked()
	c.mu.Unlock()
	switch {
	case errors.Is(err, net.ErrClosed):
	case isTimeout(err) && !wasClosing:
		c.hub.obs.SlowClientClosed()
		c.logAt(zap.WarnLevel, "closing a slow client: write stalled",
			zap.Int("queued_bytes", queued), zap.Duration("write_timeout", c.cfg.WriteTimeout))
	case errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) || wasClosing:
		c.logAt(zap.DebugLevel, "write failed; closing", zap.Error(err))
	default:
		c.logAt(zap.WarnLevel, "write failed; closing", zap.Error(err))
	}
}

// iovecs is a writer's vector of frames for one writev. net.Buffers.WriteTo
// consumes the slice it is called on, so the vector keeps its backing
// array apart (arr) and writes a copy of the header (v) that lives in the
// same pooled object: a copy on the writer's stack would escape to the
// heap through WriteTo, one allocation per write.
type iovecs struct {
	arr [][]byte
	v   net.Buffers
}

var buffersPool = sync.Pool{New: func() any { return new(iovecs) }}

// writeChunk bounds the bytes of one write: each write has write_timeout
// to finish, so a connection that takes a large batch slowly but steadily
// is not taken for a stalled one.
const writeChunk = 256 << 10

// write sends frames, which are not the queue's, in writes of at most
// writeChunk bytes.
func (c *Client) write(bufs *iovecs, frames []*Frame) error {
	_, err := c.writeChunks(bufs, frames, false)
	return err
}

// writeCounted sends a batch of the queue's frames; their bytes leave the
// budget as they are written, the last chunk's (written) when the writer
// next takes the lock, so that a batch of one chunk takes it once.
func (c *Client) writeCounted(bufs *iovecs, batch []*Frame) (written int, err error) {
	return c.writeChunks(bufs, batch, true)
}

// writeChunks sends frames in writes of at most writeChunk bytes (one
// frame may be larger), each bounded by write_timeout, so that a
// connection that takes a large batch slowly but steadily is not taken
// for a stalled one. It reports the bytes of the last chunk.
func (c *Client) writeChunks(bufs *iovecs, frames []*Frame, counted bool) (last int, err error) {
	c.hub.obs.Written(time.Since(frames[0].at))
	for len(frames) > 0 {
		if counted && last > 0 { // a chunk before: out of the budget now
			c.mu.Lock()
			c.queued -= last
			c.mu.Unlock()
		}
		n, size := 0, 0
		for n < len(frames) && (n == 0 || size+len(frames[n].b) <= writeChunk) {
			size += len(frames[n].b)
			n++
		}
		if err := c.writeFrames(bufs, frames[:n]); err != nil {
			return 0, err
		}
		last, frames = size, frames[n:]
	}
	return last, nil
}

// writeFrames sends frames in one system call where the connection allows
// it (writev on TCP), or as one coalesced buffer otherwise (TLS, streams).
func (c *Client) writeFrames(bufs *iovecs, batch []*Frame) error {
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return err
	}
	if _, ok := c.conn.(*net.TCPConn); ok {
		arr := bufs.arr[:0]
		for _, f := range batch {
			arr = append(arr, f.b)
		}
		bufs.arr, bufs.v = arr[:0], arr
		_, err := bufs.v.WriteTo(c.conn)
		clear(arr)
		return err
	}
	return c.writeCoalesced(batch)
}

var coalescePool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

func (c *Client) writeCoalesced(batch []*Frame) error {
	if len(batch) == 1 {
		_, err := c.conn.Write(batch[0].b)
		return err
	}
	bp := coalescePool.Get().(*[]byte)
	b := (*bp)[:0]
	for _, f := range batch {
		b = append(b, f.b...)
	}
	_, err := c.conn.Write(b)
	if cap(b) <= 1<<20 {
		*bp = b[:0]
		coalescePool.Put(bp)
	}
	return err
}

// droppedFrame tells a drop-oldest client how many messages it lost.
func droppedFrame(n int) *Frame {
	return errorFrame(CodeDropped, strconv.Itoa(n)+" messages dropped: the connection reads too slowly", "")
}
