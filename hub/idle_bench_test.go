package hub

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// idleConns is how many connections each round of BenchmarkIdleConnection
// holds open; client and server share the process's 20,000 descriptors.
const idleConns = 2000

// BenchmarkIdleConnection measures what an idle connection holds in each
// read mode: Go heap in use plus goroutine stacks, after a GC, divided by
// the connections, each joined to one of 100 rooms, over plain TCP and
// over TLS. The client end of each connection is a bare socket (or TLS
// connection) in the same process, the same in both read modes, counted
// too. Run it with
//
//	go test ./hub/ -run XXX -bench IdleConnection -benchtime 3x
func BenchmarkIdleConnection(b *testing.B) {
	for _, mode := range []struct {
		name   string
		noPoll bool
		tls    bool
	}{{"poller", false, false}, {"goroutine", true, false}, {"poller-tls", false, true}, {"goroutine-tls", true, true}} {
		b.Run(mode.name, func(b *testing.B) {
			var perConn, goroutines float64
			for b.Loop() {
				bytes, g := idleRound(b, Options{NoPoll: mode.noPoll}, mode.tls)
				perConn += bytes
				goroutines += g
			}
			b.ReportMetric(perConn/float64(b.N), "B/conn")
			b.ReportMetric(goroutines/float64(b.N), "goroutines/conn")
		})
	}
}

// idleRound opens idleConns connections, measures, and closes them.
func idleRound(b *testing.B, o Options, useTLS bool) (bytesPerConn, goroutinesPerConn float64) {
	h := New(o)
	cfg := Config{MaxMembers: 0}.WithDefaults()
	up := websocket.Upgrader{WriteBufferPool: noPool{}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		go func() { _ = h.Serve(Conn{Net: ws.NetConn(), Room: strings.TrimPrefix(r.URL.Path, "/")}, &cfg) }()
	}))
	if useTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	defer srv.Close()
	defer h.Close(CloseGoingAway, "", 5*time.Second)

	b.StopTimer()
	before, gBefore := memInUse(), runtime.NumGoroutine()
	b.StartTimer()
	conns := make([]net.Conn, idleConns)
	for i := range conns {
		conns[i] = dialBare(b, srv.Listener.Addr().String(), fmt.Sprintf("/room%d", i%100), useTLS)
	}
	b.StopTimer()
	for deadline := time.Now().Add(10 * time.Second); h.ClientCount() < idleConns; {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d connections served", h.ClientCount(), idleConns)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the set-up goroutines end
	after, gAfter := memInUse(), runtime.NumGoroutine()
	for _, c := range conns {
		_ = c.Close()
	}
	b.StartTimer()
	return float64(after-before) / idleConns, float64(gAfter-gBefore) / idleConns
}

// memInUse is the Go heap in use plus goroutine stacks, after a GC.
func memInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}

// dialBare opens a WebSocket with a hand-written handshake and keeps only
// the socket: it never reads, so the server's frames wait in the kernel.
func dialBare(b *testing.B, addr, path string, useTLS bool) net.Conn {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	if useTLS {
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true}) // httptest's own certificate
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
	br := bufio.NewReaderSize(c, 128) // the 101 answer only; garbage after
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		b.Fatalf("handshake: %v %v", resp, err)
	}
	_ = c.SetDeadline(time.Time{})
	return c
}

// noPool gives gorilla no write buffer to keep: it writes the handshake
// answer only.
type noPool struct{}

func (noPool) Get() any { return nil }
func (noPool) Put(any)  {}
