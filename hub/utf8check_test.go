package hub

import (
	"testing"
	"unicode/utf8"
)

// extendable is the reference for utf8Check: whether p is valid UTF-8 or
// the start of it, tried against every completion of up to three bytes
// drawn from the edges of the continuation ranges.
func extendable(p []byte) bool {
	edges := []byte{0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF}
	var try func(b []byte, left int) bool
	try = func(b []byte, left int) bool {
		if utf8.Valid(b) {
			return true
		}
		if left == 0 {
			return false
		}
		for _, e := range edges {
			if try(append(b[:len(b):len(b)], e), left-1) {
				return true
			}
		}
		return false
	}
	return try(p, 3)
}

// TestUTF8CheckEverySplit feeds each input in two and three pieces at
// every split: the check fails at the first piece after which the message
// cannot be UTF-8 any more, and the whole passes exactly when it is UTF-8.
func TestUTF8CheckEverySplit(t *testing.T) {
	inputs := []string{
		"", "hello", "κόσμε", "a€b", "\xe2\x82\xac", "𝄞x", "\xf4\x8f\xbf\xbf",
		"κόσμε\xf4\x90\x80\x80edited", // Autobahn 6.4.x: above U+10FFFF
		"\xed\xa0\x80",                // a surrogate
		"\xe0\x80\xaf",                // overlong
		"\xc0\xaf", "\xff", "a\x80", "ab\xe2\x82", "\xf0\x9f\x98",
		"\xe2\x82\xac\xe2", "x\xf5\x80\x80\x80",
	}
	for _, in := range inputs {
		b := []byte(in)
		for i := 0; i <= len(b); i++ {
			for j := i; j <= len(b); j++ {
				pieces := [][]byte{b[:i], b[i:j], b[j:]}
				var u utf8Check
				failedAt, seen := -1, 0
				for k, p := range pieces {
					seen += len(p)
					if !u.feed(p) {
						failedAt = k
						break
					}
				}
				wantFail := -1
				for k, n := 0, 0; k < len(pieces); k++ {
					n += len(pieces[k])
					if !extendable(b[:n]) {
						wantFail = k
						break
					}
				}
				if failedAt != wantFail {
					t.Fatalf("%q split at %d,%d: failed at piece %d, want %d", in, i, j, failedAt, wantFail)
				}
				if failedAt < 0 && u.complete() != utf8.Valid(b) {
					t.Fatalf("%q split at %d,%d: complete %v, valid %v", in, i, j, u.complete(), utf8.Valid(b))
				}
			}
		}
	}
}

// TestFeedFailsFastOnInvalidText: a text message is refused with 1007 as
// soon as the piece that makes it invalid arrives, whether it is a
// fragment or part of a frame (the cases of Autobahn 6.4.1 to 6.4.4), and
// a code point split between fragments passes.
func TestFeedFailsFastOnInvalidText(t *testing.T) {
	whole := frm(true, opText, "κόσμε\xf4\x90\x80\x80edited")
	hdr := len(headerOf(whole, len("κόσμε\xf4\x90\x80\x80edited")))
	at := hdr + len("κόσμε")
	tests := []struct {
		name   string
		pieces [][]byte
		failAt int // the piece that fails with 1007; -1 when none does
	}{
		{"6.4.1 fragments", [][]byte{frm(false, opText, "κόσμε"), frm(false, opContinuation, "\xf4\x90\x80\x80"), frm(true, opContinuation, "edited")}, 1},
		{"6.4.2 fragment per byte", [][]byte{frm(false, opText, "κόσμε\xf4"), frm(false, opContinuation, "\x90"), frm(false, opContinuation, "\x80\x80"), frm(true, opContinuation, "edited")}, 1},
		{"6.4.3 chops of a frame", [][]byte{whole[:at], whole[at : at+4], whole[at+4:]}, 1},
		{"6.4.4 chops per byte", [][]byte{whole[:at], whole[at : at+1], whole[at+1 : at+2], whole[at+2:]}, 2},
		{"invalid at the end", [][]byte{frm(false, opText, "ok"), frm(true, opContinuation, "\xe2\x82")}, 1},
		{"code point across fragments", [][]byte{frm(false, opText, "a\xe2"), frm(false, opContinuation, "\x82"), frm(true, opContinuation, "\xac")}, -1},
		{"code point across chops", [][]byte{whole[:hdr+1], whole[hdr+1 : hdr+2]}, -1},
		{"binary is not checked", [][]byte{frm(false, opBinary, "\xff"), frm(true, opContinuation, "\xfe")}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &frameReader{limit: 1 << 10}
			sink := &recordSink{}
			failAt := -1
			for k, p := range tt.pieces {
				if _, err := r.feed(append([]byte(nil), p...), sink); err != nil {
					if errCode(err) != CloseInvalidData {
						t.Fatalf("piece %d: %v, want code 1007", k, err)
					}
					failAt = k
					break
				}
			}
			if failAt != tt.failAt {
				t.Fatalf("failed at piece %d, want %d (events %v)", failAt, tt.failAt, sink.events)
			}
		})
	}
}

// TestFeedPartialHoldsWhatArrived: a large frame sent slowly holds about
// what has arrived of it, not its announced size, and never more than the
// frame.
func TestFeedPartialHoldsWhatArrived(t *testing.T) {
	const size = 60 << 10
	frame := frm(true, opBinary, pattern(size))
	r := &frameReader{limit: 64 << 10}
	sink := &recordSink{}
	fed := 0
	for _, n := range []int{10, 100, 1000, 10 << 10} {
		if _, err := r.feed(append([]byte(nil), frame[fed:fed+n]...), sink); err != nil {
			t.Fatal(err)
		}
		fed += n
		if c := cap(r.partial); c > max(2*fed, 256) || c > len(frame) {
			t.Fatalf("after %d bytes the reader holds %d", fed, c)
		}
	}
	if _, err := r.feed(append([]byte(nil), frame[fed:]...), sink); err != nil || len(sink.events) != 1 || len(sink.events[0].payload) != size {
		t.Fatalf("err %v, events %d", err, len(sink.events))
	}
	if r.partial != nil {
		t.Fatalf("holds %d bytes after the frame", cap(r.partial))
	}
}
