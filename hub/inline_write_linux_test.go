package hub

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

// polledRoom is tcpRoom with every member's socket read by the poller, as
// Serve reads a plain connection: what lets the hub write members inline.
func polledRoom(tb testing.TB, n int, cfg Config) (*Hub, []*Client, []net.Conn) {
	tb.Helper()
	h, clients, fars := tcpRoomConns(tb, n, cfg, false)
	for _, far := range fars {
		skipFrame(tb, far) // joined
	}
	for _, c := range clients {
		h.wg.Add(1) // as Serve does: the poller disconnects c at its end
		if !pollConn(c, newReader(c)) {
			tb.Fatal("the poller did not take a loopback TCP socket")
		}
	}
	return h, clients, fars
}

// skipFrame reads one short unmasked frame from the server.
func skipFrame(tb testing.TB, conn net.Conn) {
	tb.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer conn.SetReadDeadline(time.Time{})
	head := make([]byte, 2)
	if _, err := io.ReadFull(conn, head); err != nil {
		tb.Fatal(err)
	}
	n := int(head[1])
	if n == 126 {
		if _, err := io.ReadFull(conn, head); err != nil {
			tb.Fatal(err)
		}
		n = int(head[0])<<8 | int(head[1])
	}
	if _, err := io.ReadFull(conn, make([]byte, n)); err != nil {
		tb.Fatal(err)
	}
}

// goroutinesCreated is the runtime's count of goroutines started so far.
func goroutinesCreated(tb testing.TB) uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		tb.Fatal("this Go has no /sched/goroutines-created metric")
	}
	return s[0].Value.Uint64()
}

// TestGoroutinesCreatedPerDelivery checks that a member's publish to idle
// members starts no writer goroutine for the members written inline: the
// publisher's goroutine writes them. Were a writer started per delivery,
// as for members the poller does not read, the count would be 1 per
// delivery. With more than one processor, members past inlineMaxClients
// get writer goroutines, to run beside the publisher; with one, none do.
func TestGoroutinesCreatedPerDelivery(t *testing.T) {
	const publishes = 20
	for _, tc := range []struct {
		name       string
		members    int
		procs      int
		perPublish int // writer goroutines a publish starts
	}{
		{"50 members, 2 processors", 50, 2, 0},
		{"300 members, 1 processor", 300, 1, 0},
		{"300 members, 2 processors", 300, 2, 300 - inlineMaxClients},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.procs))
			_, clients, fars := polledRoom(t, tc.members, allocConfig)
			for _, far := range fars {
				go discard(far)
			}
			r := newReader(clients[0])
			frame := benchClientFrame([]byte(`{"type":"publish","room":"room","data":{"n":1},"id":"p"}`))
			buf := make([]byte, len(frame))
			before := goroutinesCreated(t)
			for i := 0; i < publishes; i++ {
				copy(buf, frame)
				if r.consume(buf) {
					t.Fatal("the reader ended")
				}
				waitWritten(clients)
			}
			created := int(goroutinesCreated(t) - before)
			want := tc.perPublish * publishes
			t.Logf("%d goroutines started for %d deliveries; %d expected", created, tc.members*publishes, want)
			// a socket the kernel did not take at once hands its rest to a
			// writer, rarely: a little room above what is expected
			if created < want || created > want+publishes/4 {
				t.Errorf("%d goroutines started for %d publishes to %d idle members, want %d", created, publishes, tc.members, want)
			}
		})
	}
}

// TestInlineWriteAfterWriterDeadline checks that an inline write is not
// refused for the write deadline the writer goroutine left on the socket.
func TestInlineWriteAfterWriterDeadline(t *testing.T) {
	_, clients, fars := polledRoom(t, 1, Config{SendQueue: 1 << 20, NoPresence: true, WriteTimeout: 20 * time.Millisecond})
	c := clients[0]
	c.send(newFrame(opText, []byte("by the writer"))) // sets a deadline 20 ms on
	waitWritten(clients)
	time.Sleep(50 * time.Millisecond) // the deadline passes
	w := getInlineWrites()
	if !c.sendVia(newFrame(opText, []byte("inline")), w) {
		t.Fatal("not queued")
	}
	w.flush()
	if c.isClosing() {
		t.Fatal("the inline write failed on the writer's old deadline")
	}
	waitWritten(clients)
	want := append(newFrame(opText, []byte("by the writer")).b, newFrame(opText, []byte("inline")).b...)
	got := make([]byte, len(want))
	_ = fars[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(fars[0], got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %q (%v), want %q", got, err, want)
	}
}

// TestInlinePartialWriteKeepsBytes fills a member's socket with inline
// writes until the kernel takes only part of one; the rest goes to the
// writer goroutine, and the member then reads every byte, in order.
func TestInlinePartialWriteKeepsBytes(t *testing.T) {
	_, clients, fars := polledRoom(t, 1, Config{SendQueue: 1 << 30, NoPresence: true, WriteTimeout: time.Minute})
	c := clients[0]
	var want bytes.Buffer
	for i := 0; c.QueuedBytes() == 0; i++ { // until a write leaves bytes behind
		if i == 10000 {
			t.Fatal("the socket took 10,000 frames without filling")
		}
		f := newFrame(opBinary, []byte(strings.Repeat(string(rune('a'+i%26)), 3000+i%7)))
		want.Write(f.b)
		w := getInlineWrites()
		c.sendVia(f, w)
		w.flush()
	}
	got := make([]byte, want.Len())
	_ = fars[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(fars[0], got); err != nil {
		t.Fatalf("read %d of %d bytes: %v", len(got), want.Len(), err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("the bytes read are not the frames written, in order")
	}
	waitWritten(clients)
	if c.isClosing() {
		t.Fatal("the member was cut off")
	}
}

func TestUnwritten(t *testing.T) {
	a, b, c := &Frame{b: []byte("aaa")}, &Frame{b: []byte("bb")}, &Frame{b: []byte("cccc")}
	batch := []*Frame{a, b, c}
	for _, tc := range []struct {
		n    int
		want []string
	}{
		{0, []string{"aaa", "bb", "cccc"}},
		{1, []string{"aa", "bb", "cccc"}},
		{3, []string{"bb", "cccc"}},
		{4, []string{"b", "cccc"}},
		{5, []string{"cccc"}},
		{8, []string{"c"}},
		{9, nil},
	} {
		var got []string
		for _, f := range unwritten(batch, tc.n) {
			got = append(got, string(f.b))
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("after %d bytes: %q, want %q", tc.n, got, tc.want)
		}
	}
	if rest := unwritten(batch, 3); rest[0] != b {
		t.Error("a whole frame left was copied; it is shared with other members")
	}
}

// TestInlineDropOldestKeepsFramesWhole fills a drop-oldest member's socket
// through inline writes while it reads nothing, so that frames are
// dropped while a write is half done, then reads the whole stream: every
// frame whole, the kept ones in order, the newest kept, the drops told.
// The tail of a frame the socket took in part is the writer's, never the
// queue's, so dropping the oldest cannot cut a frame.
func TestInlineDropOldestKeepsFramesWhole(t *testing.T) {
	_, clients, fars := polledRoom(t, 1, Config{SendQueue: 64 << 10, SlowClient: DropOldest, NoPresence: true, WriteTimeout: time.Minute})
	c, far := clients[0], fars[0]
	const n, size = 5000, 3000 // 15 MB: far more than the socket buffers
	payload := make([]byte, size)
	for i := 0; i < n; i++ {
		binary.BigEndian.PutUint32(payload, uint32(i))
		w := getInlineWrites()
		c.sendVia(newFrame(opBinary, payload), w)
		w.flush()
	}
	_ = far.SetReadDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReaderSize(far, 64<<10)
	last, kept, notices := -1, 0, 0
	for last != n-1 {
		op, body, err := readServerFrame(r)
		if err != nil {
			t.Fatalf("after %d frames kept (last %d) and %d notices: %v", kept, last, notices, err)
		}
		switch op {
		case opBinary:
			i := int(binary.BigEndian.Uint32(body))
			if len(body) != size || i <= last {
				t.Fatalf("frame %d of %d bytes after frame %d: cut or out of order", i, len(body), last)
			}
			last, kept = i, kept+1
		case opText:
			if !bytes.Contains(body, []byte(`"code":"`+CodeDropped+`"`)) {
				t.Fatalf("unexpected frame %s", body)
			}
			notices++
		default:
			t.Fatalf("unexpected opcode %d", op)
		}
	}
	t.Logf("%d of %d frames kept, %d drop notices", kept, n, notices)
	if kept == n || notices == 0 {
		t.Fatalf("%d of %d frames kept and %d drop notices: the test filled nothing", kept, n, notices)
	}
}

// readServerFrame reads one unmasked, unfragmented frame from the server.
func readServerFrame(r *bufio.Reader) (op byte, body []byte, err error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(head[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		_, err = io.ReadFull(r, ext[:])
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		_, err = io.ReadFull(r, ext[:])
		n = binary.BigEndian.Uint64(ext[:])
	}
	if err != nil || head[0]&0x80 == 0 || head[1]&0x80 != 0 || n > 1<<20 {
		return 0, nil, fmt.Errorf("bad frame header %x (%v)", head, err)
	}
	body = make([]byte, n)
	_, err = io.ReadFull(r, body)
	return head[0] & 0x0f, body, err
}
