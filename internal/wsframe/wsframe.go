// Package wsframe encodes WebSocket frames byte by byte (RFC 6455) as a
// client sends them, for tests and tools that need frames no WebSocket
// library would write: unmasked ones, reserved bits set, a length in a
// longer form than needed.
package wsframe

import "encoding/binary"

// LenEnc chooses how Encode writes the payload length.
type LenEnc int

const (
	LenAuto LenEnc = iota // the shortest form, as RFC 6455 asks of senders
	Len16                 // the 126 + 16-bit form, whatever the length
	Len64                 // the 127 + 64-bit form, whatever the length
)

// Frame is one client-to-server frame.
type Frame struct {
	Fin      bool
	RSV      byte // RSV1..RSV3, as the 0x70 bits of the first byte
	Op       byte // the opcode
	Payload  []byte
	Key      [4]byte // the masking key
	Enc      LenEnc
	Unmasked bool // leave the frame unmasked, which a client must not do
}

// Encode returns the frame as a client sends it: the header, the masking
// key, then the payload XORed with the key. f.Payload is not modified.
// It panics when Enc is Len16 and the payload is longer than 65535 bytes.
func (f Frame) Encode() []byte {
	b := []byte{f.Op&0x0F | f.RSV&0x70}
	if f.Fin {
		b[0] |= 0x80
	}
	var maskBit byte = 0x80
	if f.Unmasked {
		maskBit = 0
	}
	n := len(f.Payload)
	enc := f.Enc
	if enc == LenAuto {
		switch {
		case n > 0xFFFF:
			enc = Len64
		case n > 125:
			enc = Len16
		}
	}
	switch enc {
	case Len16:
		if n > 0xFFFF {
			panic("wsframe: payload too long for a 16-bit length")
		}
		b = append(b, maskBit|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	case Len64:
		b = append(b, maskBit|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	default:
		b = append(b, maskBit|byte(n))
	}
	if f.Unmasked {
		return append(b, f.Payload...)
	}
	b = append(b, f.Key[:]...)
	for i, c := range f.Payload {
		b = append(b, c^f.Key[i%4])
	}
	return b
}

// FromByte0 is the frame whose first byte is b0 as sent (FIN, RSV bits
// and opcode), masked with key unless masked is false.
func FromByte0(b0 byte, payload []byte, key [4]byte, masked bool) Frame {
	return Frame{Fin: b0&0x80 != 0, RSV: b0 & 0x70, Op: b0 & 0x0F, Payload: payload, Key: key, Unmasked: !masked}
}

// ClosePayload is a close frame's payload: the code, then the reason.
func ClosePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}
