package main

import (
	"encoding/binary"
	"errors"
)

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// errFrameTooLarge guards the receive buffer against a garbage length.
var errFrameTooLarge = errors.New("frame larger than 16 MiB")

const maxFrameSize = 16 << 20

// wsFrame is one parsed frame. payload aliases the input buffer (and is
// unmasked in place when the frame was masked, which servers must not do).
type wsFrame struct {
	fin     bool
	opcode  byte
	payload []byte
}

// parseFrame parses the first frame of b. It returns the frame and the
// number of bytes it took, or n == 0 when b does not yet hold a whole frame.
func parseFrame(b []byte) (f wsFrame, n int, err error) {
	if len(b) < 2 {
		return f, 0, nil
	}
	f.fin = b[0]&0x80 != 0
	f.opcode = b[0] & 0x0F
	masked := b[1]&0x80 != 0
	length := uint64(b[1] & 0x7F)
	pos := 2
	switch length {
	case 126:
		if len(b) < 4 {
			return f, 0, nil
		}
		length = uint64(binary.BigEndian.Uint16(b[2:4]))
		pos = 4
	case 127:
		if len(b) < 10 {
			return f, 0, nil
		}
		length = binary.BigEndian.Uint64(b[2:10])
		pos = 10
	}
	if length > maxFrameSize {
		return f, 0, errFrameTooLarge
	}
	var key []byte
	if masked {
		if len(b) < pos+4 {
			return f, 0, nil
		}
		key = b[pos : pos+4]
		pos += 4
	}
	end := pos + int(length)
	if len(b) < end {
		return f, 0, nil
	}
	f.payload = b[pos:end]
	if masked {
		for i := range f.payload {
			f.payload[i] ^= key[i&3]
		}
	}
	return f, end, nil
}

// skipMessages returns what follows the first n data messages of b (a
// message is data frames up to one with FIN; control frames in between are
// skipped too). ok is false when b holds fewer than n whole messages.
func skipMessages(b []byte, n int) (rest []byte, ok bool) {
	for n > 0 {
		f, used, err := parseFrame(b)
		if err != nil || used == 0 {
			return nil, false
		}
		b = b[used:]
		if f.opcode < opClose && f.fin {
			n--
		}
	}
	return b, true
}
