//go:build linux

package hub

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The poller reads idle connections without a goroutine each: one epoll
// set, for the whole process, watches every polled socket, armed one-shot.
// When a socket turns readable a goroutine reads it until it has nothing
// more, hands the frames to the connection's reader, rearms the socket and
// exits. An idle connection so holds no goroutine, no stack and no read
// buffer: only its records below and the kernel's.
//
// The socket stays in Go's own poller too, which the writer uses; reads
// go around it, as non-blocking reads on the descriptor.
type poller struct {
	epfd   int
	ep     syscall.RawConn // epfd, as Go's own poller sees it
	gen    atomic.Uint32
	shards [pollShards]pollShard
}

const pollShards = 16

type pollShard struct {
	mu    sync.Mutex
	conns map[int32]*polled
}

// polled is one connection the poller reads.
type polled struct {
	p   *poller
	c   *Client
	r   *reader
	rc  syscall.RawConn
	fd  int32
	gen uint32 // tells this registration from an older one of the same fd
	// buffered is the TLS connection above the socket, read through it.
	buffered net.Conn
	busy     atomic.Bool // a goroutine is reading the connection
	ended    atomic.Bool

	// What a wake-up runs, made once at registration: closures made at
	// each wake-up would allocate at each. A read's buffer and result
	// travel in the fields below, which only the goroutine of the current
	// wake-up touches, and not after it rearms the socket.
	serve  func()             // readReady
	readFn func(uintptr) bool // one read of ioBuf into ioN, ioErr
	ioBuf  []byte
	ioN    int
	ioErr  error

	// An inline write's vector and result (inline_write_linux.go), set
	// by the client's one writer for the length of the write.
	writeFn func(uintptr) bool
	wio     *inlineIO
}

// A reading goroutine borrows a small buffer, and a large one only when a
// read fills the small one: when many sockets wake at once, each with a
// frame or two, they hold little memory between them.
const (
	pollSmallRead = 4 << 10
	pollLargeRead = 64 << 10
)

// pollMaxReads bounds the reads of one wake-up, so a busy connection
// yields to the others.
const pollMaxReads = 16

var (
	pollOnce      sync.Once
	thePoller     *poller
	pollSmallPool = sync.Pool{New: func() any { b := make([]byte, pollSmallRead); return &b }}
	pollLargePool = sync.Pool{New: func() any { b := make([]byte, pollLargeRead); return &b }}
)

// getPoller starts the process's poller on first use; nil if epoll fails.
func getPoller() *poller {
	pollOnce.Do(func() {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return
		}
		// The epoll set is itself readable when a socket in it is ready,
		// and non-blocking: Go's own poller watches it, so the loop waits
		// in the scheduler like any socket read, not in a system call
		// that would have to win a P back to hand the work on.
		ep, err := pollableFD(fd)
		if err != nil {
			_ = unix.Close(fd)
			return
		}
		thePoller = &poller{epfd: fd, ep: ep}
		for i := range thePoller.shards {
			thePoller.shards[i].conns = make(map[int32]*polled)
		}
		go thePoller.loop()
	})
	return thePoller
}

// pollConn hands c's connection to the poller. It reports false when the
// connection cannot be polled; the caller then reads it itself.
func pollConn(c *Client, r *reader) bool {
	sock, buffered := pollSocket(c.conn)
	if sock == nil {
		return false
	}
	p := getPoller()
	if p == nil {
		return false
	}
	rc, err := sock.SyscallConn()
	if err != nil {
		return false
	}
	pc := &polled{p: p, c: c, r: r, rc: rc, buffered: buffered, gen: p.gen.Add(1)}
	pc.serve, pc.readFn, pc.writeFn = pc.readReady, pc.readFD, pc.writeFD
	if err := rc.Control(func(fd uintptr) { pc.fd = int32(fd) }); err != nil {
		return false
	}
	c.mu.Lock()
	c.polled = pc
	c.mu.Unlock()
	p.store(pc)
	if err := pc.ctl(unix.EPOLL_CTL_ADD); err != nil {
		p.remove(pc)
		c.mu.Lock()
		c.polled = nil
		c.mu.Unlock()
		return false
	}
	return true
}

// pollSocket finds the socket under conn: conn itself when nothing buffers
// above the socket (plain TCP or Unix), or under TLS, which buffers, and
// whose bytes must then be read through conn (buffered is true).
func pollSocket(conn net.Conn) (sock syscall.Conn, buffered net.Conn) {
	switch c := conn.(type) {
	case *net.TCPConn, *net.UnixConn:
		return c.(syscall.Conn), nil
	case *tls.Conn:
		if tcp, ok := c.NetConn().(*net.TCPConn); ok {
			return tcp, c
		}
	}
	return nil, nil
}

func (p *poller) shard(fd int32) *pollShard { return &p.shards[uint32(fd)%pollShards] }

func (p *poller) store(pc *polled) {
	s := p.shard(pc.fd)
	s.mu.Lock()
	s.conns[pc.fd] = pc
	s.mu.Unlock()
}

// remove forgets pc, unless its fd was registered again since.
func (p *poller) remove(pc *polled) {
	s := p.shard(pc.fd)
	s.mu.Lock()
	if s.conns[pc.fd] == pc {
		delete(s.conns, pc.fd)
	}
	s.mu.Unlock()
}

func (p *poller) lookup(fd int32, gen uint32) *polled {
	s := p.shard(fd)
	s.mu.Lock()
	pc := s.conns[fd]
	s.mu.Unlock()
	if pc == nil || pc.gen != gen {
		return nil
	}
	return pc
}

// pollableFD hands fd to Go's poller and returns its raw connection.
func pollableFD(fd int) (syscall.RawConn, error) {
	if err := unix.SetNonblock(fd, true); err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "rooms-epoll").SyscallConn()
}

// loop waits for readable sockets and starts a reading goroutine for each.
func (p *poller) loop() {
	events := make([]unix.EpollEvent, 256)
	var n int
	wait := func(fd uintptr) bool { // made once: one per wake-up would allocate
		var err error
		n, err = unix.EpollWait(int(fd), events, 0)
		return err == nil && n > 0 // else wait until the set is readable
	}
	for {
		err := p.ep.Read(wait)
		if err != nil {
			time.Sleep(10 * time.Millisecond) // cannot happen: the set is never closed
			continue
		}
		for _, ev := range events[:n] {
			pc := p.lookup(ev.Fd, uint32(ev.Pad))
			if pc != nil && pc.busy.CompareAndSwap(false, true) {
				go pc.serve()
			}
		}
	}
}

// ctl adds or rearms the socket in the epoll set, one-shot: each wake-up
// is served by one goroutine, which rearms the socket when it is done.
//
// (Its closure is made at each call: the next wake-up, on another
// goroutine, may begin as soon as the socket is rearmed, before this call
// has read its result, so the result cannot live in the record.)
func (pc *polled) ctl(op int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: pc.fd, Pad: int32(pc.gen)}
	var cerr error
	err := pc.rc.Control(func(fd uintptr) { cerr = unix.EpollCtl(pc.p.epfd, op, int(fd), &ev) })
	if err != nil {
		return err
	}
	return cerr
}

// readReady reads what the socket has, hands it to the reader, and rearms
// the socket; or ends the connection at its end of stream or close frame.
func (pc *polled) readReady() {
	if pc.buffered != nil {
		pc.readBuffered()
		return
	}
	small := pollSmallPool.Get().(*[]byte)
	defer pollSmallPool.Put(small)
	buf := *small
	for i := 0; i < pollMaxReads; i++ {
		if i == 1 { // the first read filled the small buffer: there is more
			large := pollLargePool.Get().(*[]byte)
			defer pollLargePool.Put(large)
			buf = *large
		}
		n, err := pc.read(buf)
		if n > 0 && pc.r.consume(buf[:n]) {
			pc.end()
			return
		}
		if errors.Is(err, unix.EAGAIN) || (err == nil && n > 0 && n < len(buf)) {
			break // nothing more for now
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			pc.end() // end of stream, or the connection was closed
			return
		}
	}
	pc.rearm()
}

// bufferedWait is how long a wake-up of a TLS connection waits for more
// bytes once it has read what was there.
const bufferedWait = time.Millisecond

// readBuffered serves a wake-up of a TLS connection. TLS reads ahead of
// what it returns, so the socket falling quiet does not mean that all was
// read: reads go on, through the TLS connection, until one times out,
// which crypto/tls survives (what it has of a record waits for the next
// wake-up). Only then is the socket rearmed.
func (pc *polled) readBuffered() {
	bp := pollLargePool.Get().(*[]byte) // a record's whole plaintext fits
	defer pollLargePool.Put(bp)
	conn := pc.buffered
	for {
		_ = conn.SetReadDeadline(time.Now().Add(bufferedWait))
		n, err := conn.Read(*bp)
		if n > 0 && pc.r.consume((*bp)[:n]) {
			pc.end()
			return
		}
		if err != nil && !isTimeout(err) {
			pc.end()
			return
		}
		if err != nil {
			break
		}
	}
	pc.rearm()
}

// rearm ends a wake-up: the socket is watched again, and the next one may
// start a reading goroutine.
func (pc *polled) rearm() {
	pc.busy.Store(false)
	if err := pc.ctl(unix.EPOLL_CTL_MOD); err != nil {
		pc.end() // the connection was closed meanwhile
	}
}

// read is one non-blocking read of the socket, around Go's poller.
func (pc *polled) read(buf []byte) (int, error) {
	pc.ioBuf, pc.ioN, pc.ioErr = buf, 0, nil
	err := pc.rc.Read(pc.readFn)
	n, rerr := pc.ioN, pc.ioErr
	pc.ioBuf, pc.ioErr = nil, nil
	if err != nil {
		return 0, err
	}
	return max(n, 0), rerr
}

// readFD is read's work on the descriptor.
func (pc *polled) readFD(fd uintptr) bool {
	pc.ioN, pc.ioErr = unix.Read(int(fd), pc.ioBuf)
	return true // never wait in Go's poller
}

// end stops polling the connection and disconnects it; the first call wins.
func (pc *polled) end() {
	if !pc.ended.CompareAndSwap(false, true) {
		return
	}
	_ = pc.rc.Control(func(fd uintptr) { _ = unix.EpollCtl(pc.p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil) })
	pc.p.remove(pc)
	go pc.c.hub.disconnect(pc.c) // it waits for the close handshake
}
