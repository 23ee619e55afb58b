package wsframe

import (
	"bytes"
	"testing"
)

func TestEncode(t *testing.T) {
	// RFC 6455 section 5.7: a single-frame masked text message "Hello".
	want := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	if got := (Frame{Fin: true, Op: 0x1, Payload: []byte("Hello"), Key: [4]byte{0x37, 0xfa, 0x21, 0x3d}}).Encode(); !bytes.Equal(got, want) {
		t.Errorf("masked Hello = % x, want % x", got, want)
	}
	// RFC 6455 section 5.7: unmasked "Hel" (not final), and a 256-byte and
	// a 64 KiB unmasked binary frame.
	if got := (Frame{Op: 0x1, Payload: []byte("Hel"), Unmasked: true}).Encode(); !bytes.Equal(got, []byte{0x01, 0x03, 0x48, 0x65, 0x6c}) {
		t.Errorf("unmasked Hel = % x", got)
	}
	if got := (Frame{Fin: true, Op: 0x2, Payload: make([]byte, 256), Unmasked: true}).Encode(); !bytes.Equal(got[:4], []byte{0x82, 0x7E, 0x01, 0x00}) || len(got) != 4+256 {
		t.Errorf("256-byte header = % x, len %d", got[:4], len(got))
	}
	if got := (Frame{Fin: true, Op: 0x2, Payload: make([]byte, 65536), Unmasked: true}).Encode(); !bytes.Equal(got[:10], []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}) || len(got) != 10+65536 {
		t.Errorf("64 KiB header = % x, len %d", got[:10], len(got))
	}
	// Forced encodings, RSV bits.
	if got := (Frame{Fin: true, Op: 0x1, Payload: []byte("hi"), Enc: Len16, Key: [4]byte{}}).Encode(); !bytes.Equal(got, []byte{0x81, 0xFE, 0, 2, 0, 0, 0, 0, 'h', 'i'}) {
		t.Errorf("forced 16-bit = % x", got)
	}
	if got := (Frame{Fin: true, Op: 0x1, Payload: []byte("hi"), Enc: Len64, Key: [4]byte{}}).Encode(); !bytes.Equal(got, []byte{0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 'h', 'i'}) {
		t.Errorf("forced 64-bit = % x", got)
	}
	if got := (Frame{Fin: false, RSV: 0x50, Op: 0x9, Key: [4]byte{}}).Encode(); got[0] != 0x59 {
		t.Errorf("rsv first byte = %#x, want 0x59", got[0])
	}
}
