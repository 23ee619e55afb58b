package main

import (
	"bytes"
	"testing"

	"github.com/caddyrooms/caddyrooms/internal/wsframe"
)

// frameBytes builds a frame, unmasked unless key (4 bytes) is given.
func frameBytes(fin bool, op byte, payload []byte, key []byte) []byte {
	f := wsframe.Frame{Fin: fin, Op: op, Payload: payload, Unmasked: key == nil}
	copy(f.Key[:], key)
	return f.Encode()
}

func TestParseFrame(t *testing.T) {
	small := []byte(`{"t":1}`)
	mid := bytes.Repeat([]byte("m"), 300)
	big := bytes.Repeat([]byte("b"), 70000)
	tests := []struct {
		name    string
		in      []byte
		wantOp  byte
		wantFin bool
		want    []byte
		wantN   int
	}{
		{"small text", frameBytes(true, opText, small, nil), opText, true, small, 2 + len(small)},
		{"16-bit length", frameBytes(true, opBinary, mid, nil), opBinary, true, mid, 4 + len(mid)},
		{"64-bit length", frameBytes(true, opText, big, nil), opText, true, big, 10 + len(big)},
		{"masked", frameBytes(true, opText, small, []byte{1, 2, 3, 4}), opText, true, small, 6 + len(small)},
		{"fragment", frameBytes(false, opText, small, nil), opText, false, small, 2 + len(small)},
		{"ping", frameBytes(true, opPing, []byte("p"), nil), opPing, true, []byte("p"), 3},
		{"empty input", nil, 0, false, nil, 0},
		{"header only", frameBytes(true, opText, small, nil)[:2], 0, false, nil, 0},
		{"cut 16-bit length", frameBytes(true, opText, mid, nil)[:3], 0, false, nil, 0},
		{"cut payload", frameBytes(true, opText, big, nil)[:500], 0, false, nil, 0},
	}
	for _, tt := range tests {
		f, n, err := parseFrame(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if n != tt.wantN {
			t.Errorf("%s: used %d bytes, want %d", tt.name, n, tt.wantN)
			continue
		}
		if n > 0 && (f.opcode != tt.wantOp || f.fin != tt.wantFin || !bytes.Equal(f.payload, tt.want)) {
			t.Errorf("%s: got op %x fin %v payload %.20q", tt.name, f.opcode, f.fin, f.payload)
		}
	}
	huge := []byte{0x81, 127, 0, 0, 0, 0, 0x7f, 0, 0, 0}
	if _, _, err := parseFrame(huge); err == nil {
		t.Error("a 2 GiB length was accepted")
	}
}

func TestUnreadBytes(t *testing.T) {
	head := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n")
	welcome := frameBytes(true, opText, []byte(`{"type":"welcome"}`), nil)
	ping := frameBytes(true, opPing, nil, nil)
	joined := frameBytes(true, opText, []byte(`{"type":"joined"}`), nil)
	part1 := frameBytes(false, opText, []byte(`{"type":`), nil)
	part2 := frameBytes(true, opContinuation, []byte(`"presence"}`), nil)
	next := frameBytes(true, opText, []byte(`{"t":1}`), nil)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	tests := []struct {
		name string
		rec  []byte
		read int
		want []byte
		ok   bool
	}{
		{"nothing after the head", head, 0, []byte{}, true},
		{"raw: all frames unread", cat(head, next), 0, next, true},
		{"json: welcome and joined read", cat(head, welcome, joined, next), 2, next, true},
		{"control frame skipped", cat(head, welcome, ping, joined, next[:3]), 2, next[:3], true},
		{"fragmented message counts once", cat(head, part1, part2, next), 1, next, true},
		{"fewer messages than read", cat(head, welcome), 2, nil, false},
		{"no head", welcome, 0, nil, false},
	}
	for _, tt := range tests {
		got, err := unreadBytes(tt.rec, tt.read)
		if (err == nil) != tt.ok || (tt.ok && !bytes.Equal(got, tt.want)) {
			t.Errorf("%s: got %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}
