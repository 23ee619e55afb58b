package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// receiver reads the sockets of every fast client from one goroutine with a
// level-triggered epoll set of its own and parses the frames itself: one
// read system call per ready socket and no goroutine switch per message.
// gorilla dials and joins. While clients connect, the loop parks in Go's
// netpoller (the epoll descriptor is registered with it) and leaves the
// processor to the dialers; once the load starts it busy-polls and
// publishes too (busyloop.go).
type receiver struct {
	cfg  *config
	s    *stats
	epfd int
	epf  *os.File // epfd, as seen by the netpoller

	mu    sync.Mutex
	fresh []*rconn // handed over, not yet seen by the loop

	conns   []*rconn // by file descriptor; loop goroutine only
	dirty   []*rconn // with bytes queued to write; loop goroutine only
	scratch []byte
	stop    atomic.Bool
	done    chan struct{}

	plan atomic.Pointer[busyPlan] // set once the load starts: busy mode
	self loopStats                // what the busy loop measured of itself
}

// rconn is one socket the receiver owns.
type rconn struct {
	cl      *client
	fd      int
	pending []byte // bytes of an incomplete frame
	frag    []byte // data of a fragmented message so far
	out     []byte // bytes written but not yet taken by the socket
	mask    [4]byte
	inFrag  bool
	gone    bool
}

// newReceiver starts the receive loop.
func newReceiver(cfg *config, s *stats) (*receiver, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	if err := syscall.SetNonblock(epfd, true); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	r := &receiver{cfg: cfg, s: s, epfd: epfd, scratch: make([]byte, 0, 256<<10), done: make(chan struct{})}
	r.epf = os.NewFile(uintptr(epfd), "epoll")
	raw, err := r.epf.SyscallConn()
	if err != nil {
		r.epf.Close()
		return nil, err
	}
	go r.loop(raw)
	return r, nil
}

// add takes over the socket of a client that has joined its room. Bytes
// gorilla had buffered are processed first.
func (r *receiver) add(cl *client) error {
	left, err := cl.conn.rc.handOver(cl.conn.messagesRead)
	if err != nil {
		return err
	}
	fd, err := cl.conn.rc.fd()
	if err != nil {
		return err
	}
	// Level-triggered: an event that comes before the loop has adopted the
	// socket is reported again after it has.
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	r.s.receivers[cl.room].Add(1)
	rc := &rconn{cl: cl, fd: fd, pending: left, mask: newMask()}
	cl.rc = rc
	r.mu.Lock()
	r.fresh = append(r.fresh, rc)
	r.mu.Unlock()
	return nil
}

// close stops the loop; the sockets stay open (closeAll closes them).
func (r *receiver) close() {
	r.stop.Store(true)
	r.epf.SetReadDeadline(time.Now()) // wakes the parked loop
	<-r.done
	r.epf.Close()
}

// turnEvents bounds the sockets one turn of the loop reads, so that a
// burst of ready sockets does not hold up the publishes due meanwhile
// (the epoll set is level-triggered: the rest come in the next turn).
const turnEvents = 64

// loop waits, through the netpoller, until the epoll set has ready sockets,
// then serves them until epoll_wait finds none: while clients connect and
// join, the loop leaves the processor to the dialers. Once the load starts
// (startBusy) it turns to busy mode.
func (r *receiver) loop(raw syscall.RawConn) {
	defer close(r.done)
	events := make([]syscall.EpollEvent, turnEvents)
	for !r.stop.Load() {
		if plan := r.plan.Load(); plan != nil {
			r.busy(plan, events)
			return
		}
		// The deadline is a safety net only: it bounds any wake-up the
		// nested epoll might miss, and lets the loop adopt handed-over
		// sockets whose buffered frames wait for no new data. It is set
		// once per park, not per batch: timer updates are not free.
		r.epf.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		err := raw.Read(func(uintptr) bool {
			for !r.stop.Load() && r.plan.Load() == nil {
				r.adoptFresh()
				n, err := syscall.EpollWait(r.epfd, events, 0)
				if err != nil || n <= 0 {
					return false // park until the epoll fd is readable
				}
				r.serve(events[:n])
				// Let the publishers run between batches: with one core,
				// a busy receiver would otherwise hold it until the
				// runtime preempts it.
				runtime.Gosched()
			}
			return true
		})
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) && !r.stop.Load() {
			r.s.noteErr("epoll wait", err)
			return
		}
	}
}

// serve reads every ready socket once.
func (r *receiver) serve(events []syscall.EpollEvent) {
	for i := range events {
		fd := int(events[i].Fd)
		if fd < len(r.conns) && r.conns[fd] != nil {
			r.readFrom(r.conns[fd])
		}
	}
}

// adoptFresh moves handed-over sockets into the loop's table and processes
// what gorilla had buffered for them.
func (r *receiver) adoptFresh() {
	r.mu.Lock()
	fresh := r.fresh
	r.fresh = nil
	r.mu.Unlock()
	for _, rc := range fresh {
		for rc.fd >= len(r.conns) {
			r.conns = append(r.conns, make([]*rconn, len(r.conns)+1024)...)
		}
		r.conns[rc.fd] = rc
		if len(rc.pending) > 0 {
			buf := append(r.scratch[:0], rc.pending...)
			r.consume(rc, buf, time.Now().UnixNano())
		}
	}
}

// readFrom reads what the socket has and handles every whole frame.
func (r *receiver) readFrom(rc *rconn) {
	buf := append(r.scratch[:0], rc.pending...)
	if cap(buf)-len(buf) < 64<<10 {
		buf = append(make([]byte, 0, 2*cap(buf)+64<<10), buf...)
		r.scratch = buf[:0]
	}
	n, err := syscall.Read(rc.fd, buf[len(buf):cap(buf)])
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return
	}
	if err != nil || n == 0 {
		if err == nil {
			err = errors.New("connection closed by server")
		}
		r.drop(rc, err)
		return
	}
	r.consume(rc, buf[:len(buf)+n], time.Now().UnixNano())
}

// consume handles the whole frames in buf and keeps the rest as pending.
func (r *receiver) consume(rc *rconn, buf []byte, now int64) {
	for !rc.gone {
		f, used, err := parseFrame(buf)
		if err != nil {
			r.drop(rc, err)
			return
		}
		if used == 0 {
			break
		}
		buf = buf[used:]
		r.handle(rc, f, now)
	}
	rc.pending = append(rc.pending[:0], buf...)
}

// handle acts on one frame.
func (r *receiver) handle(rc *rconn, f wsFrame, now int64) {
	switch f.opcode {
	case opText, opBinary:
		if !f.fin {
			rc.frag, rc.inFrag = append(rc.frag[:0], f.payload...), true
			return
		}
		r.s.received(r.cfg, rc.cl, f.payload, now)
	case opContinuation:
		if !rc.inFrag {
			return
		}
		rc.frag = append(rc.frag, f.payload...)
		if f.fin {
			rc.inFrag = false
			r.s.received(r.cfg, rc.cl, rc.frag, now)
		}
	case opPing:
		r.sendFrame(rc, opPong, f.payload)
	case opClose:
		code := 1005
		if len(f.payload) >= 2 {
			code = int(f.payload[0])<<8 | int(f.payload[1])
		}
		r.drop(rc, fmt.Errorf("server closed the connection with code %d", code))
	}
}

// drop forgets a socket that ended.
func (r *receiver) drop(rc *rconn, why error) {
	if rc.gone {
		return
	}
	rc.gone = true
	syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_DEL, rc.fd, nil)
	r.conns[rc.fd] = nil
	r.s.lostMember(rc.cl, why)
}

// readLoop is the other receive path (-reader gorilla): one goroutine per
// client reading through gorilla. It is simpler and serves as a cross-check
// of the epoll receiver; it costs more CPU per message.
func (s *stats) readLoop(cfg *config, cl *client) {
	s.receivers[cl.room].Add(1)
	for {
		f, err := cl.conn.readFrame()
		if err != nil {
			s.lostMember(cl, err)
			return
		}
		s.received(cfg, cl, f, time.Now().UnixNano())
	}
}
