package hub

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/caddyrooms/caddyrooms/internal/wsframe"
)

// ---------------------------------------------------------------------------
// Building client frames

// testKey is the masking key of the RFC 6455 section 5.7 examples.
var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// frm is a masked frame with testKey and the minimal length encoding.
func frm(fin bool, op byte, payload string) []byte {
	return wsframe.Frame{Fin: fin, Op: op, Payload: []byte(payload), Key: testKey}.Encode()
}

// headerOf is the header (masking key included) of an encoded frame whose
// payload is n bytes long: what a client has sent before its payload.
func headerOf(frame []byte, n int) []byte { return frame[:len(frame)-n] }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// closePayload is a close frame's payload: the code, then the reason.
func closePayload(code uint16, reason string) string {
	return string(wsframe.ClosePayload(code, reason))
}

// pattern is n bytes of a repeating, recognisable sequence.
func pattern(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return string(b)
}

// ---------------------------------------------------------------------------
// Recording and feeding

// wsEvent is one call to a frameSink, its payload copied.
type wsEvent struct {
	control bool
	op      byte
	payload string
}

func (e wsEvent) String() string {
	kind := "message"
	if e.control {
		kind = "control"
	}
	p := e.payload
	if len(p) > 40 {
		p = fmt.Sprintf("%q...(%d bytes)", p[:40], len(p))
	} else {
		p = fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf("%s(op %d, %s)", kind, e.op, p)
}

func msgEv(op byte, p string) wsEvent       { return wsEvent{op: op, payload: p} }
func ctlEv(op byte, p string) wsEvent       { return wsEvent{control: true, op: op, payload: p} }
func textEv(p string) wsEvent               { return msgEv(opText, p) }
func closeEv(code uint16, r string) wsEvent { return ctlEv(opClose, closePayload(code, r)) }

// recordSink records what a frameReader hands it. Payloads alias the
// reader's buffers, so they are copied.
type recordSink struct{ events []wsEvent }

func (s *recordSink) message(op byte, p []byte) {
	s.events = append(s.events, wsEvent{op: op, payload: string(p)})
}

func (s *recordSink) control(op byte, p []byte) {
	s.events = append(s.events, wsEvent{control: true, op: op, payload: string(p)})
}

// feedResult is everything observable about feeding one input.
type feedResult struct {
	events []wsEvent
	stop   bool
	code   int    // 0 with no error; -1 for an error that is not a *protocolError
	held   []byte // r.partial once all was fed without stop or error
	msgLen int    // len(r.msg) then
	msgOp  byte   // r.msgOp then
}

func errCode(err error) int {
	if err == nil {
		return 0
	}
	var pe *protocolError
	if !errors.As(err, &pe) {
		return -1
	}
	return pe.code
}

// split cuts in into pieces of the given sizes; the last piece takes what
// the sizes leave.
func split(in []byte, sizes []int) [][]byte {
	var out [][]byte
	for _, n := range sizes {
		n = min(n, len(in))
		out = append(out, in[:n])
		in = in[n:]
	}
	if len(in) > 0 {
		out = append(out, in)
	}
	return out
}

func bytewise(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// randomSizes splits n bytes at random: mostly small pieces, sometimes a
// large one, now and then an empty read.
func randomSizes(rng *rand.Rand, n int) []int {
	var sizes []int
	for n > 0 {
		var k int
		switch rng.Intn(8) {
		case 0:
			k = 0
		case 1, 2:
			k = 1
		case 3, 4:
			k = 1 + rng.Intn(4)
		case 5, 6:
			k = 1 + rng.Intn(20)
		default:
			k = 1 + rng.Intn(n)
		}
		k = min(k, n)
		sizes = append(sizes, k)
		n -= k
	}
	return sizes
}

// runFeed feeds pieces to a fresh reader, one feed per piece, until all are
// fed, feed stops, or it fails. Each piece is fed from a buffer of its own
// that is scribbled over right after the call, the way a socket read
// buffer is reused, so a reader keeping the caller's bytes would show.
func runFeed(limit int64, pieces [][]byte) feedResult {
	r := &frameReader{limit: limit}
	sink := &recordSink{}
	var res feedResult
	for _, p := range pieces {
		buf := append([]byte(nil), p...)
		stop, err := r.feed(buf, sink)
		for i := range buf {
			buf[i] = 0xEE
		}
		if stop || err != nil {
			res.events, res.stop, res.code = sink.events, stop, errCode(err)
			return res
		}
	}
	res.events = sink.events
	res.held = append([]byte(nil), r.partial...)
	if r.done > 0 { // the text payload checked so far is unmasked: mask it back
		h, _, _ := r.header(res.held)
		unmask(res.held[h.size:h.size+r.done], h.mask, 0)
	}
	res.msgLen, res.msgOp = len(r.msg), r.msgOp
	return res
}

func sameEvents(a, b []wsEvent) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// diffResults describes how got differs from want; "" when they match.
func diffResults(want, got feedResult) string {
	var d []string
	if !sameEvents(want.events, got.events) {
		d = append(d, fmt.Sprintf("events %v, want %v", got.events, want.events))
	}
	if want.stop != got.stop {
		d = append(d, fmt.Sprintf("stop %v, want %v", got.stop, want.stop))
	}
	if want.code != got.code {
		d = append(d, fmt.Sprintf("error code %d, want %d", got.code, want.code))
	}
	if !bytes.Equal(want.held, got.held) {
		d = append(d, fmt.Sprintf("held partial % x, want % x", got.held, want.held))
	}
	if want.msgLen != got.msgLen || want.msgOp != got.msgOp {
		d = append(d, fmt.Sprintf("open message op %d len %d, want op %d len %d", got.msgOp, got.msgLen, want.msgOp, want.msgLen))
	}
	return strings.Join(d, "; ")
}

// ---------------------------------------------------------------------------
// The table

const testLimit = 1 << 20

type feedCase struct {
	name  string
	limit int64 // testLimit when 0
	in    []byte
	want  []wsEvent
	stop  bool // checked only when code is 0
	code  int  // the expected error's code; 0 for none
}

func (c feedCase) lim() int64 {
	if c.limit == 0 {
		return testLimit
	}
	return c.limit
}

func feedCases() []feedCase {
	bin256 := make([]byte, 256)
	for i := range bin256 {
		bin256[i] = byte(i)
	}
	p125, p126, p65535, p70000 := pattern(125), pattern(126), pattern(65535), pattern(70000)
	big := wsframe.Frame{Fin: true, Op: opBinary, Payload: []byte(p70000), Key: testKey}.Encode()
	tooBig129 := frm(true, opBinary, pattern(129))
	first100 := frm(false, opText, pattern(100))
	cont29 := frm(true, opContinuation, pattern(29))

	// A 64-bit length with the most significant bit set (RFC 6455 5.2: it
	// MUST be 0), then a masking key and a few payload bytes.
	topBit := cat([]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 5}, testKey[:], []byte("xxxxx"))
	// A 64-bit length of exactly 1<<62: legal framing, over any limit.
	len62 := cat([]byte{0x82, 0xFF, 0x40, 0, 0, 0, 0, 0, 0, 0}, testKey[:])

	return []feedCase{
		// --- accepted ---
		{name: "text", in: frm(true, opText, "Hello"), want: []wsEvent{textEv("Hello")}},
		{name: "rfc 5.7 masked Hello", in: []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}, want: []wsEvent{textEv("Hello")}},
		{name: "binary", in: wsframe.Frame{Fin: true, Op: opBinary, Payload: bin256, Key: testKey}.Encode(), want: []wsEvent{msgEv(opBinary, string(bin256))}},
		{name: "binary need not be UTF-8", in: frm(true, opBinary, "\xff\xfe\x00"), want: []wsEvent{msgEv(opBinary, "\xff\xfe\x00")}},
		{name: "multi-byte UTF-8 text", in: frm(true, opText, "héllo wörld €😀"), want: []wsEvent{textEv("héllo wörld €😀")}},
		{name: "empty text", in: frm(true, opText, ""), want: []wsEvent{textEv("")}},
		{name: "empty binary", in: frm(true, opBinary, ""), want: []wsEvent{msgEv(opBinary, "")}},
		{name: "zero masking key", in: wsframe.Frame{Fin: true, Op: opText, Payload: []byte("plain")}.Encode(), want: []wsEvent{textEv("plain")}},
		{name: "125 bytes, 7-bit length", in: frm(true, opText, p125), want: []wsEvent{textEv(p125)}},
		{name: "126 bytes, 16-bit length", in: frm(true, opText, p126), want: []wsEvent{textEv(p126)}},
		{name: "65535 bytes, 16-bit length", in: frm(true, opBinary, p65535), want: []wsEvent{msgEv(opBinary, p65535)}},
		{name: "70000 bytes, 64-bit length", in: big, want: []wsEvent{msgEv(opBinary, p70000)}},
		{name: "exactly the limit", limit: 129, in: tooBig129, want: []wsEvent{msgEv(opBinary, pattern(129))}},
		{name: "fragments summing to exactly the limit", limit: 129, in: cat(first100, cont29), want: []wsEvent{textEv(pattern(100) + pattern(29))}},
		// RFC 6455 5.2 asks senders for the minimal length encoding but says
		// nothing of receivers; this reader is lenient, like most servers.
		{name: "non-minimal 16-bit length", in: wsframe.Frame{Fin: true, Op: opText, Payload: []byte("short"), Key: testKey, Enc: wsframe.Len16}.Encode(), want: []wsEvent{textEv("short")}},
		{name: "non-minimal 64-bit length", in: wsframe.Frame{Fin: true, Op: opText, Payload: []byte("short"), Key: testKey, Enc: wsframe.Len64}.Encode(), want: []wsEvent{textEv("short")}},
		{
			name: "several frames in one feed",
			in:   cat(frm(true, opText, "one"), frm(true, opBinary, "two"), frm(true, opPing, "p"), frm(true, opText, ""), frm(true, opPong, "q"), frm(true, opText, "three")),
			want: []wsEvent{textEv("one"), msgEv(opBinary, "two"), ctlEv(opPing, "p"), textEv(""), ctlEv(opPong, "q"), textEv("three")},
		},
		{
			name: "three fragments with pings between",
			in:   cat(frm(false, opText, "Hel"), frm(true, opPing, "p1"), frm(false, opContinuation, "lo, "), frm(true, opPing, "p2"), frm(true, opContinuation, "world")),
			want: []wsEvent{ctlEv(opPing, "p1"), ctlEv(opPing, "p2"), textEv("Hello, world")},
		},
		{
			name: "fragmented binary with empty fragments",
			in:   cat(frm(false, opBinary, ""), frm(false, opContinuation, "\x00\xff"), frm(false, opContinuation, ""), frm(true, opContinuation, "\x01")),
			want: []wsEvent{msgEv(opBinary, "\x00\xff\x01")},
		},
		{
			name: "fragmented message of empty fragments",
			in:   cat(frm(false, opText, ""), frm(true, opContinuation, "")),
			want: []wsEvent{textEv("")},
		},
		{
			name: "valid UTF-8 split across fragments",
			in:   cat(frm(false, opText, "a\xe2"), frm(false, opContinuation, "\x82"), frm(true, opContinuation, "\xac b")),
			want: []wsEvent{textEv("a€ b")},
		},
		{
			name: "4-byte rune split over four fragments",
			in:   cat(frm(false, opText, "\xf0"), frm(false, opContinuation, "\x9f"), frm(false, opContinuation, "\x98"), frm(true, opContinuation, "\x80")),
			want: []wsEvent{textEv("😀")},
		},
		{
			name: "messages after a fragmented one",
			in:   cat(frm(false, opText, "ab"), frm(true, opContinuation, "cd"), frm(true, opText, "ef"), frm(false, opBinary, "g"), frm(true, opContinuation, "h")),
			want: []wsEvent{textEv("abcd"), textEv("ef"), msgEv(opBinary, "gh")},
		},
		{name: "ping", in: frm(true, opPing, "are you there"), want: []wsEvent{ctlEv(opPing, "are you there")}},
		{name: "empty ping", in: frm(true, opPing, ""), want: []wsEvent{ctlEv(opPing, "")}},
		{name: "pong", in: frm(true, opPong, "yes"), want: []wsEvent{ctlEv(opPong, "yes")}},
		{name: "125-byte ping", in: frm(true, opPing, p125), want: []wsEvent{ctlEv(opPing, p125)}},
		{name: "ping payload not UTF-8", in: frm(true, opPing, "\xff"), want: []wsEvent{ctlEv(opPing, "\xff")}},
		{name: "empty close", in: frm(true, opClose, ""), want: []wsEvent{ctlEv(opClose, "")}, stop: true},
		{
			name: "close stops reading",
			in:   cat(frm(true, opText, "before"), frm(true, opClose, closePayload(1000, "bye")), frm(true, opText, "after"), frm(true, opPing, "late")),
			want: []wsEvent{textEv("before"), closeEv(1000, "bye")},
			stop: true,
		},
		{
			name: "close then garbage",
			in:   cat(frm(true, opClose, closePayload(1001, "")), []byte{0xFF, 0xFF, 0xFF}),
			want: []wsEvent{closeEv(1001, "")},
			stop: true,
		},
		{
			name: "close during a fragmented message",
			in:   cat(frm(false, opText, "half"), frm(true, opClose, closePayload(1000, ""))),
			want: []wsEvent{closeEv(1000, "")},
			stop: true,
		},
		{name: "close 1000", in: frm(true, opClose, closePayload(1000, "")), want: []wsEvent{closeEv(1000, "")}, stop: true},
		{name: "close 3000", in: frm(true, opClose, closePayload(3000, "app")), want: []wsEvent{closeEv(3000, "app")}, stop: true},
		{name: "close 4999", in: frm(true, opClose, closePayload(4999, "private")), want: []wsEvent{closeEv(4999, "private")}, stop: true},
		{name: "close with UTF-8 reason", in: frm(true, opClose, closePayload(1000, "au revoir, à bientôt")), want: []wsEvent{closeEv(1000, "au revoir, à bientôt")}, stop: true},
		{name: "close with 123-byte reason", in: frm(true, opClose, closePayload(1000, pattern(123))), want: []wsEvent{closeEv(1000, pattern(123))}, stop: true},

		// --- refused ---
		{name: "RSV1 set", in: wsframe.Frame{Fin: true, RSV: 0x40, Op: opText, Payload: []byte("x"), Key: testKey}.Encode(), code: 1002},
		{name: "RSV2 set", in: wsframe.Frame{Fin: true, RSV: 0x20, Op: opBinary, Payload: []byte("x"), Key: testKey}.Encode(), code: 1002},
		{name: "RSV3 set", in: wsframe.Frame{Fin: true, RSV: 0x10, Op: opText, Payload: []byte("x"), Key: testKey}.Encode(), code: 1002},
		{name: "RSV set on a ping", in: wsframe.Frame{Fin: true, RSV: 0x40, Op: opPing, Key: testKey}.Encode(), code: 1002},
		{
			name: "RSV set on a continuation",
			in:   cat(frm(false, opText, "a"), wsframe.Frame{Fin: true, RSV: 0x20, Op: opContinuation, Payload: []byte("b"), Key: testKey}.Encode()),
			code: 1002,
		},
		{name: "unmasked text", in: wsframe.Frame{Fin: true, Op: opText, Payload: []byte("Hello"), Unmasked: true}.Encode(), code: 1002},
		{name: "unmasked empty ping", in: wsframe.Frame{Fin: true, Op: opPing, Unmasked: true}.Encode(), code: 1002},
		{
			name: "unmasked frame after a good one",
			in:   cat(frm(true, opText, "ok"), wsframe.Frame{Fin: true, Op: opBinary, Payload: []byte("no"), Unmasked: true}.Encode()),
			want: []wsEvent{textEv("ok")},
			code: 1002,
		},
		{name: "opcode 3", in: frm(true, 3, "x"), code: 1002},
		{name: "opcode 7", in: frm(true, 7, ""), code: 1002},
		{name: "opcode 11", in: frm(true, 11, "x"), code: 1002},
		{name: "opcode 15", in: frm(true, 15, ""), code: 1002},
		{name: "opcode 3 inside a fragmented message", in: cat(frm(false, opText, "a"), frm(true, 3, "b")), code: 1002},
		{name: "fragmented ping", in: frm(false, opPing, "p"), code: 1002},
		{name: "fragmented close", in: frm(false, opClose, closePayload(1000, "")), code: 1002},
		{name: "126-byte ping", in: frm(true, opPing, p126), code: 1002},
		{name: "126-byte pong", in: frm(true, opPong, p126), code: 1002},
		{name: "126-byte close", in: frm(true, opClose, closePayload(1000, pattern(124))), code: 1002},
		{name: "continuation with no message", in: frm(true, opContinuation, "x"), code: 1002},
		{name: "unfinished continuation with no message", in: frm(false, opContinuation, "x"), code: 1002},
		{
			name: "continuation after a finished message",
			in:   cat(frm(true, opText, "done"), frm(true, opContinuation, "more")),
			want: []wsEvent{textEv("done")},
			code: 1002,
		},
		{
			name: "continuation after a finished fragmented message",
			in:   cat(frm(false, opText, "a"), frm(true, opContinuation, "b"), frm(true, opContinuation, "c")),
			want: []wsEvent{textEv("ab")},
			code: 1002,
		},
		{name: "text while a message is open", in: cat(frm(false, opText, "a"), frm(true, opText, "b")), code: 1002},
		{name: "binary while a message is open", in: cat(frm(false, opText, "a"), frm(false, opBinary, "b")), code: 1002},
		{
			name: "new message after a ping inside an open one",
			in:   cat(frm(false, opBinary, "a"), frm(true, opPing, ""), frm(true, opText, "b")),
			want: []wsEvent{ctlEv(opPing, "")},
			code: 1002,
		},
		// Over the limit: only the header is fed, so the error must come
		// from the header alone, before any payload is buffered.
		{name: "over the limit, header only", limit: 128, in: headerOf(tooBig129, 129), code: 1009},
		{name: "over the limit, 64-bit header only", limit: 65536, in: headerOf(big, 70000), code: 1009},
		{name: "length 1<<62, header only", limit: 65536, in: len62, code: 1009},
		{name: "over the limit summed over fragments, header only", limit: 128, in: cat(first100, headerOf(cont29, 29)), code: 1009},
		{
			name:  "over the limit summed over three fragments",
			limit: 128,
			in:    cat(frm(false, opText, pattern(60)), frm(true, opPing, ""), frm(false, opContinuation, pattern(60)), frm(true, opContinuation, pattern(9))),
			want:  []wsEvent{ctlEv(opPing, "")},
			code:  1009,
		},
		{name: "over the limit with the payload", limit: 128, in: tooBig129, code: 1009},
		{name: "invalid UTF-8 text", in: frm(true, opText, "ab\xffcd"), code: 1007},
		{name: "overlong UTF-8", in: frm(true, opText, "\xc0\xaf"), code: 1007},
		{name: "UTF-16 surrogate in UTF-8", in: frm(true, opText, "\xed\xa0\x80"), code: 1007},
		{name: "truncated rune at the end", in: frm(true, opText, "a\xe2\x82"), code: 1007},
		{
			name: "good message before an invalid one",
			in:   cat(frm(true, opText, "good"), frm(true, opText, "\xff"), frm(true, opText, "never")),
			want: []wsEvent{textEv("good")},
			code: 1007,
		},
		{
			name: "invalid UTF-8 split across fragments",
			in:   cat(frm(false, opText, "a\xe2\x82"), frm(true, opContinuation, "(b")),
			code: 1007,
		},
		{
			name: "rune cut short across fragments",
			in:   cat(frm(false, opText, "\xf0\x9f"), frm(true, opContinuation, "\x98")),
			code: 1007,
		},
		{name: "close of one byte", in: frm(true, opClose, "\x03"), code: 1002},
		{name: "close code 1005", in: frm(true, opClose, closePayload(1005, "")), code: 1002},
		{name: "close code 999", in: frm(true, opClose, closePayload(999, "")), code: 1002},
		{name: "close code 2000", in: frm(true, opClose, closePayload(2000, "")), code: 1002},
		{name: "close code 1006", in: frm(true, opClose, closePayload(1006, "")), code: 1002},
		{name: "close code 1015", in: frm(true, opClose, closePayload(1015, "")), code: 1002},
		{name: "close code 0", in: frm(true, opClose, closePayload(0, "")), code: 1002},
		{name: "close code 5000", in: frm(true, opClose, closePayload(5000, "")), code: 1002},
		{name: "close reason not UTF-8", in: frm(true, opClose, closePayload(1000, "bad\xff")), code: 1007},
		{name: "64-bit length with the top bit set", in: topBit, code: 1002},
		{name: "64-bit length with the top bit set, header only", in: topBit[:14], code: 1002},
	}
}

func TestFeed(t *testing.T) {
	for _, c := range feedCases() {
		t.Run(c.name, func(t *testing.T) {
			got := runFeed(c.lim(), [][]byte{c.in})
			if !sameEvents(got.events, c.want) {
				t.Errorf("events:\n got %v\nwant %v", got.events, c.want)
			}
			if got.code != c.code {
				t.Errorf("error code %d, want %d", got.code, c.code)
			}
			if c.code == 0 {
				if got.stop != c.stop {
					t.Errorf("stop %v, want %v", got.stop, c.stop)
				}
				// Every accepted input ends on a message boundary, so
				// nothing may be left held (unless it stopped at a close).
				if !c.stop && (len(got.held) != 0 || got.msgLen != 0 || got.msgOp != 0) {
					t.Errorf("reader holds partial %d bytes, message op %d of %d bytes after whole input", len(got.held), got.msgOp, got.msgLen)
				}
			}
		})
	}
}

// TestFeedErrorReasons checks the error is a *protocolError whose text
// names the code, and that an error ends reading.
func TestFeedErrorReasons(t *testing.T) {
	r := &frameReader{limit: testLimit}
	_, err := r.feed(frm(true, 3, "x"), &recordSink{})
	var pe *protocolError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *protocolError", err, err)
	}
	if pe.code != CloseProtocolError || pe.reason == "" || !strings.Contains(pe.Error(), "1002") {
		t.Errorf("protocolError = %+v, Error() %q", *pe, pe.Error())
	}
}

// TestFeedSplitsMatchWhole feeds every case one byte at a time and in
// random pieces, and wants what feeding it whole gives.
func TestFeedSplitsMatchWhole(t *testing.T) {
	rng := rand.New(rand.NewSource(6455))
	for _, c := range feedCases() {
		t.Run(c.name, func(t *testing.T) {
			whole := runFeed(c.lim(), [][]byte{c.in})
			if d := diffResults(whole, runFeed(c.lim(), split(c.in, bytewise(len(c.in))))); d != "" {
				t.Errorf("byte at a time: %s", d)
			}
			tries := 20
			if len(c.in) > 10000 {
				tries = 4
			}
			for i := 0; i < tries; i++ {
				sizes := randomSizes(rng, len(c.in))
				if d := diffResults(whole, runFeed(c.lim(), split(c.in, sizes))); d != "" {
					t.Fatalf("split %v: %s", sizes, d)
				}
			}
		})
	}
}

// TestFeedTooBigAtHeader wants a message over the limit refused on the
// byte that completes its header, not earlier and not after buffering.
func TestFeedTooBigAtHeader(t *testing.T) {
	tests := []struct {
		name   string
		limit  int64
		before []byte // complete frames fed first
		header []byte // then this, one byte at a time
	}{
		{"7-bit length", 100, nil, headerOf(frm(true, opText, pattern(101)), 101)},
		{"16-bit length", 128, nil, headerOf(frm(true, opBinary, pattern(129)), 129)},
		{"64-bit length", 65536, nil, headerOf(frm(true, opBinary, pattern(70000)), 70000)},
		{"unfinished first fragment", 128, nil, headerOf(frm(false, opText, pattern(200)), 200)},
		{"second fragment", 128, frm(false, opText, pattern(100)), headerOf(frm(false, opContinuation, pattern(29)), 29)},
		{"third fragment after a ping", 128, cat(frm(false, opBinary, pattern(64)), frm(false, opContinuation, pattern(64)), frm(true, opPing, "")), headerOf(frm(true, opContinuation, "x"), 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &frameReader{limit: tt.limit}
			sink := &recordSink{}
			if stop, err := r.feed(append([]byte(nil), tt.before...), sink); stop || err != nil {
				t.Fatalf("frames before: stop %v, err %v", stop, err)
			}
			for i := range tt.header {
				stop, err := r.feed([]byte{tt.header[i]}, sink)
				if i < len(tt.header)-1 {
					if stop || err != nil {
						t.Fatalf("byte %d of a %d-byte header: stop %v, err %v", i, len(tt.header), stop, err)
					}
					continue
				}
				if errCode(err) != CloseTooBig {
					t.Fatalf("header complete: err %v, want code %d", err, CloseTooBig)
				}
			}
			for _, e := range sink.events {
				if !e.control {
					t.Errorf("a message was delivered: %v", e)
				}
			}
		})
	}

	// A 64-bit length of 2^63-1 has its top bit clear but is beyond any
	// limit: it must be refused from the header too (1002 or 1009).
	r := &frameReader{limit: testLimit}
	hdr := cat([]byte{0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, testKey[:])
	if _, err := r.feed(hdr, &recordSink{}); errCode(err) != CloseProtocolError && errCode(err) != CloseTooBig {
		t.Errorf("length 2^63-1: err %v, want 1002 or 1009", err)
	}
}

// TestFeedIdleHoldsNothing checks that between messages the reader holds no
// buffer, and that an incomplete frame is kept, as sent, only while it is
// incomplete.
func TestFeedIdleHoldsNothing(t *testing.T) {
	r := &frameReader{limit: testLimit}
	sink := &recordSink{}
	feed := func(what string, b []byte) {
		t.Helper()
		buf := append([]byte(nil), b...)
		if stop, err := r.feed(buf, sink); stop || err != nil {
			t.Fatalf("%s: stop %v, err %v", what, stop, err)
		}
		for i := range buf {
			buf[i] = 0xEE
		}
	}
	idle := func(when string) {
		t.Helper()
		if r.partial != nil || r.msg != nil || r.msgOp != 0 {
			t.Fatalf("%s: reader holds partial %d bytes (cap %d), message op %d of %d bytes (cap %d); want nothing",
				when, len(r.partial), cap(r.partial), r.msgOp, len(r.msg), cap(r.msg))
		}
	}
	lastEvent := func(want wsEvent) {
		t.Helper()
		if len(sink.events) == 0 || sink.events[len(sink.events)-1] != want {
			t.Fatalf("last event %v, want %v", sink.events, want)
		}
	}
	idle("new reader")

	feed("whole frame", frm(true, opText, "hello"))
	lastEvent(textEv("hello"))
	idle("after a whole frame")

	// One frame cut in two at every interesting point: inside the first
	// two bytes, the extended length, the masking key, and the payload.
	p := pattern(300)
	f := frm(true, opBinary, p) // 2 + 2 + 4 header bytes
	for _, cut := range []int{1, 2, 3, 4, 5, 7, 8, 9, 150, len(f) - 1} {
		n := len(sink.events)
		feed("first part", f[:cut])
		if !bytes.Equal(r.partial, f[:cut]) {
			t.Fatalf("cut %d: partial = % x, want the %d bytes sent", cut, r.partial, cut)
		}
		if r.msg != nil || len(sink.events) != n {
			t.Fatalf("cut %d: message buffered or delivered early", cut)
		}
		feed("rest", f[cut:])
		lastEvent(msgEv(opBinary, p))
		idle(fmt.Sprintf("cut %d, after the rest", cut))
	}

	// One byte at a time: the partial frame grows, then is let go.
	for i := range f {
		feed("byte", f[i:i+1])
		if i < len(f)-1 {
			if !bytes.Equal(r.partial, f[:i+1]) {
				t.Fatalf("after %d bytes: partial holds %d bytes", i+1, len(r.partial))
			}
		}
	}
	lastEvent(msgEv(opBinary, p))
	idle("after a frame fed byte by byte")

	// A whole frame and the start of the next: only that start is kept,
	// and only until the next frame completes.
	next := frm(true, opText, "second")
	feed("frame and a half", cat(frm(true, opText, "first"), next[:4]))
	lastEvent(textEv("first"))
	if !bytes.Equal(r.partial, next[:4]) {
		t.Fatalf("partial = % x, want % x", r.partial, next[:4])
	}
	feed("second half and a whole frame", cat(next[4:], frm(true, opText, "third")))
	lastEvent(textEv("third"))
	if got := sink.events[len(sink.events)-2]; got != textEv("second") {
		t.Fatalf("second message = %v", got)
	}
	idle("after the frames completed")

	// A fragmented message is kept, unmasked, only until its last fragment.
	feed("first fragment", frm(false, opText, "frag"))
	if r.partial != nil || string(r.msg) != "frag" || r.msgOp != opText {
		t.Fatalf("after the first fragment: partial %d bytes, msg %q op %d", len(r.partial), r.msg, r.msgOp)
	}
	feed("ping", frm(true, opPing, "ping"))
	lastEvent(ctlEv(opPing, "ping"))
	if string(r.msg) != "frag" || r.partial != nil {
		t.Fatalf("after a ping: partial %d bytes, msg %q", len(r.partial), r.msg)
	}
	last := frm(true, opContinuation, "ment")
	feed("last fragment, partly", last[:5])
	if string(r.msg) != "frag" || !bytes.Equal(r.partial, last[:5]) {
		t.Fatalf("during the last fragment: partial %d bytes, msg %q", len(r.partial), r.msg)
	}
	feed("last fragment, the rest", last[5:])
	lastEvent(textEv("fragment"))
	idle("after a fragmented message")

	// A large message let go once delivered, in two feeds and in one.
	big := frm(true, opBinary, pattern(70000))
	feed("large, first half", big[:35000])
	if len(r.partial) != 35000 {
		t.Fatalf("large frame: partial %d bytes, want 35000", len(r.partial))
	}
	feed("large, second half", big[35000:])
	lastEvent(msgEv(opBinary, pattern(70000)))
	idle("after a large message in two parts")
	feed("large, whole", big)
	idle("after a large message in one")

	// An empty feed while idle and while a frame is partial changes nothing.
	feed("empty", nil)
	idle("after an empty feed")
	feed("part", next[:3])
	feed("empty", []byte{})
	if !bytes.Equal(r.partial, next[:3]) {
		t.Fatalf("empty feed changed partial to % x", r.partial)
	}
	feed("rest", next[3:])
	lastEvent(textEv("second"))
	idle("at the end")

	// A close frame completing a partial one: stop, and nothing held, not
	// even the bytes that came after it.
	cl := frm(true, opClose, closePayload(1000, ""))
	feed("close, first bytes", cl[:3])
	stop, err := r.feed(cat(cl[3:], frm(true, opText, "x")[:3]), sink)
	if !stop || err != nil {
		t.Fatalf("close: stop %v, err %v", stop, err)
	}
	lastEvent(closeEv(1000, ""))
	if r.partial != nil {
		t.Fatalf("after close: partial holds %d bytes", len(r.partial))
	}
}

// TestFeedUnmasksInPlace documents that feed unmasks the caller's buffer
// in place (no copy for frames that arrive whole) and does not touch
// bytes of an incomplete frame.
func TestFeedUnmasksInPlace(t *testing.T) {
	f := frm(true, opBinary, "payload")
	in := cat(f, f[:3])
	r := &frameReader{limit: testLimit}
	sink := &recordSink{}
	if stop, err := r.feed(in, sink); stop || err != nil {
		t.Fatalf("stop %v, err %v", stop, err)
	}
	if got := string(in[6:13]); got != "payload" {
		t.Errorf("payload in the caller's buffer = %q, want it unmasked", got)
	}
	if !bytes.Equal(in[len(f):], f[:3]) {
		t.Errorf("incomplete frame's bytes changed: % x", in[len(f):])
	}
}

// ---------------------------------------------------------------------------
// unmask and close frames

func TestUnmask(t *testing.T) {
	keys := [][4]byte{
		{0, 0, 0, 0},
		{0x37, 0xfa, 0x21, 0x3d},
		{0xff, 0xff, 0xff, 0xff},
		{0x01, 0x02, 0x04, 0x80},
		{0xde, 0xad, 0xbe, 0xef},
	}
	rng := rand.New(rand.NewSource(1))
	for _, key := range keys {
		for off := 0; off < 8; off++ { // where the slice starts: alignment
			for n := 0; n <= 40; n++ {
				buf := make([]byte, off+n+8)
				rng.Read(buf)
				orig := append([]byte(nil), buf...)
				want := append([]byte(nil), buf...)
				for i := 0; i < n; i++ {
					want[off+i] ^= key[i%4]
				}
				unmask(buf[off:off+n], key, 0)
				if !bytes.Equal(buf, want) {
					t.Fatalf("key % x, offset %d, length %d:\n got % x\nwant % x", key, off, n, buf, want)
				}
				unmask(buf[off:off+n], key, 0)
				if !bytes.Equal(buf, orig) {
					t.Fatalf("key % x, offset %d, length %d: unmasking twice is not the identity", key, off, n)
				}
			}
		}
	}
}

func TestValidCloseCode(t *testing.T) {
	// RFC 6455 7.4.1 and the IANA registry: 1000-1003 and 1007-1014 are
	// defined and may be sent; 1004 is reserved, 1005, 1006 and 1015 must
	// never be sent; 0-999 and 1016-2999 are not used; 3000-4999 are for
	// libraries, frameworks and applications.
	valid := map[int]bool{}
	for _, c := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014} {
		valid[c] = true
	}
	for c := 3000; c <= 4999; c++ {
		valid[c] = true
	}
	for c := -1; c <= 70000; c++ {
		if got := validCloseCode(c); got != valid[c] {
			t.Errorf("validCloseCode(%d) = %v, want %v", c, got, valid[c])
		}
	}
}

func TestCheckClose(t *testing.T) {
	tests := []struct {
		payload string
		code    int
	}{
		{"", 0},
		{"\x03", 1002},
		{closePayload(1000, ""), 0},
		{closePayload(1001, "going away"), 0},
		{closePayload(1014, ""), 0},
		{closePayload(3000, ""), 0},
		{closePayload(4999, "x"), 0},
		{closePayload(1000, "é€😀"), 0},
		{closePayload(1004, ""), 1002},
		{closePayload(1005, ""), 1002},
		{closePayload(1006, ""), 1002},
		{closePayload(1015, ""), 1002},
		{closePayload(999, ""), 1002},
		{closePayload(2000, ""), 1002},
		{closePayload(2999, ""), 1002},
		{closePayload(5000, ""), 1002},
		{closePayload(65535, ""), 1002},
		{closePayload(1000, "\xff"), 1007},
		{closePayload(1000, "ok\xe2\x82"), 1007},
		{closePayload(1005, "\xff"), 1002}, // the code is checked first
	}
	for _, tt := range tests {
		if got := errCode(checkClose([]byte(tt.payload))); got != tt.code {
			t.Errorf("checkClose(% x) code %d, want %d", tt.payload, got, tt.code)
		}
	}
}

func TestCloseCodeOf(t *testing.T) {
	tests := []struct {
		payload string
		want    int
	}{
		{"", CloseNoStatus},
		{"\x03", CloseNoStatus},
		{closePayload(1000, ""), 1000},
		{closePayload(4999, "reason"), 4999},
		{closePayload(1002, "x"), 1002},
		{"\xff\xff", 65535},
	}
	for _, tt := range tests {
		if got := closeCodeOf([]byte(tt.payload)); got != tt.want {
			t.Errorf("closeCodeOf(% x) = %d, want %d", tt.payload, got, tt.want)
		}
	}
	if closeCodeOf(nil) != CloseNoStatus {
		t.Errorf("closeCodeOf(nil) != %d", CloseNoStatus)
	}
}

// ---------------------------------------------------------------------------
// Fuzzing

const fuzzLimit = 300

func FuzzFrameReader(f *testing.F) {
	k2 := [4]byte{1, 2, 3, 4}
	f.Add(frm(true, opText, "Hello"), int64(1))
	f.Add(cat(frm(false, opText, "Hel"), frm(true, opPing, "p"), frm(false, opContinuation, "lo, "), frm(true, opContinuation, "world")), int64(2))
	f.Add(cat(frm(true, opBinary, pattern(200)), frm(true, opPong, ""), frm(true, opClose, closePayload(1000, "bye"))), int64(3))
	f.Add(wsframe.Frame{Fin: true, Op: opText, Payload: []byte("long"), Key: k2, Enc: wsframe.Len64}.Encode(), int64(4))
	f.Add(wsframe.Frame{Fin: true, Op: opBinary, Payload: []byte(pattern(130)), Key: k2, Enc: wsframe.Len16}.Encode(), int64(5))
	f.Add(cat(frm(false, opText, "a\xe2"), frm(true, opContinuation, "\x82\xac")), int64(6))
	f.Add(cat(frm(true, opText, "ok"), frm(false, opBinary, pattern(250)), frm(false, opContinuation, pattern(60))), int64(7))
	f.Add(cat(frm(true, opText, "x"), frm(true, opClose, "\x03\xed")), int64(8))
	f.Add(frm(false, opText, "unfinished"), int64(9))
	f.Add([]byte{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4}, int64(10))
	f.Add([]byte{}, int64(0))

	f.Fuzz(func(t *testing.T, in []byte, seed int64) {
		whole := runFeed(fuzzLimit, [][]byte{in})
		checkFuzzResult(t, in, whole)
		rng := rand.New(rand.NewSource(seed))
		sizes := randomSizes(rng, len(in))
		if d := diffResults(whole, runFeed(fuzzLimit, split(in, sizes))); d != "" {
			t.Fatalf("split %v differs from whole: %s", sizes, d)
		}
		if len(in) <= 4096 {
			if d := diffResults(whole, runFeed(fuzzLimit, split(in, bytewise(len(in))))); d != "" {
				t.Fatalf("byte at a time differs from whole: %s", d)
			}
		}
	})
}

// checkFuzzResult checks what must hold of any outcome.
func checkFuzzResult(t *testing.T, in []byte, res feedResult) {
	t.Helper()
	switch res.code {
	case 0, CloseProtocolError, CloseInvalidData, CloseTooBig:
	default:
		t.Fatalf("error code %d", res.code)
	}
	for i, e := range res.events {
		if e.control {
			if e.op != opClose && e.op != opPing && e.op != opPong {
				t.Fatalf("control with opcode %d", e.op)
			}
			if len(e.payload) > 125 {
				t.Fatalf("control payload of %d bytes", len(e.payload))
			}
			if e.op == opClose {
				if i != len(res.events)-1 || !res.stop {
					t.Fatalf("close frame not last, or no stop: %v", res.events)
				}
				if checkClose([]byte(e.payload)) != nil {
					t.Fatalf("invalid close payload delivered: % x", e.payload)
				}
			}
			continue
		}
		if e.op != opText && e.op != opBinary {
			t.Fatalf("message with opcode %d", e.op)
		}
		if len(e.payload) > fuzzLimit {
			t.Fatalf("message of %d bytes over the limit %d", len(e.payload), fuzzLimit)
		}
		if e.op == opText && !utf8.ValidString(e.payload) {
			t.Fatalf("text message not UTF-8: %q", e.payload)
		}
	}
	if res.stop && res.code == 0 {
		if n := len(res.events); n == 0 || res.events[n-1].op != opClose || !res.events[n-1].control {
			t.Fatalf("stop without a close frame: %v", res.events)
		}
	}
	// With everything fed and no error, the reader keeps exactly the raw
	// bytes of the unfinished frame at the end of the input.
	if !res.stop && res.code == 0 && !bytes.HasSuffix(in, res.held) {
		t.Fatalf("held % x is not the tail of the input", res.held)
	}
	if res.msgLen > fuzzLimit || (res.msgLen > 0 && res.msgOp == 0) {
		t.Fatalf("open message: op %d, %d bytes", res.msgOp, res.msgLen)
	}
}
