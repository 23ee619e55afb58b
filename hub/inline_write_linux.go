//go:build linux

package hub

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// inlineIO is the vector of one inline write, and its result.
type inlineIO struct {
	iov [inlineMaxFrames]unix.Iovec
	cnt int
	n   int
	err error
}

// canWriteInline: the socket is plain (no TLS above it, which would have
// to encrypt), so the hub may write it around Go's poller.
func (pc *polled) canWriteInline() bool {
	return pc != nil && pc.buffered == nil && !pc.ended.Load()
}

// writeNow writes batch with one non-blocking writev, around Go's poller
// (under its write lock, so never beside a net.Conn write). It reports the
// bytes written: fewer than the batch's when the socket's buffer is full,
// which is no error.
func (pc *polled) writeNow(batch []*Frame, io *inlineIO) (int, error) {
	io.cnt, io.n, io.err = 0, 0, nil
	for _, f := range batch {
		if len(f.b) == 0 {
			continue
		}
		io.iov[io.cnt].Base = &f.b[0]
		io.iov[io.cnt].SetLen(len(f.b))
		io.cnt++
	}
	if io.cnt == 0 {
		return 0, nil
	}
	pc.wio = io
	err := pc.rc.Write(pc.writeFn)
	pc.wio = nil
	n, werr := io.n, io.err
	clear(io.iov[:io.cnt])
	if err != nil {
		return 0, err
	}
	return n, werr
}

// writeFD is writeNow's work on the descriptor; it never waits in Go's
// poller.
func (pc *polled) writeFD(fd uintptr) bool {
	io := pc.wio
	for {
		n, _, errno := unix.Syscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&io.iov[0])), uintptr(io.cnt))
		switch errno {
		case 0:
			io.n = int(n)
		case unix.EINTR:
			continue
		case unix.EAGAIN:
		default:
			io.err = errno
		}
		return true
	}
}
