package hub

import (
	"encoding/binary"
	"time"
)

// WebSocket opcodes used by the writer (RFC 6455 section 5.2).
const (
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

// Frame is one complete server-to-client WebSocket frame, header included,
// ready to be written as is. A room message is framed once and the same
// Frame is queued for every member, so fan-out copies a pointer, not bytes.
type Frame struct {
	b  []byte
	at time.Time // when the frame was made; for the write-latency metric
}

// newFrame frames payload with opcode op (FIN set, unmasked, as a server
// sends it). Payload is copied.
func newFrame(op byte, payload []byte) *Frame {
	b := appendFrameHeader(make([]byte, 0, len(payload)+10), op, len(payload))
	return &Frame{b: append(b, payload...), at: time.Now()}
}

// appendFrameHeader appends the header of an unfragmented, unmasked frame.
func appendFrameHeader(b []byte, op byte, n int) []byte {
	b = append(b, 0x80|op)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126)
		return binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		return binary.BigEndian.AppendUint64(b, uint64(n))
	}
}

// frameBuilder builds a frame whose payload is appended piece by piece: it
// reserves the longest header, and shifts the start once the length is known.
type frameBuilder struct {
	b []byte
}

const maxHeader = 10

func newFrameBuilder(sizeHint int) *frameBuilder {
	return &frameBuilder{b: make([]byte, maxHeader, maxHeader+sizeHint)}
}

// finish writes the header in front of the payload and returns the frame.
func (fb *frameBuilder) finish(op byte) *Frame {
	n := len(fb.b) - maxHeader
	var hdr [maxHeader]byte
	h := appendFrameHeader(hdr[:0], op, n)
	start := maxHeader - len(h)
	copy(fb.b[start:], h)
	return &Frame{b: fb.b[start:], at: time.Now()}
}

// closeFrame builds a close frame with a status code and a reason, the
// reason cut to fit the 125-byte control-frame limit.
func closeFrame(code int, reason string) *Frame {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	p := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(reason)), uint16(code))
	return newFrame(opClose, append(p, reason...))
}
