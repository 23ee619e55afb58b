package hub

import (
	"encoding/binary"
	"strconv"
)

const opContinuation = 0x0

// frameSink receives what a frameReader decodes. A message's payload is
// only valid during the call: it aliases the reader's buffers.
type frameSink interface {
	message(op byte, payload []byte)
	control(op byte, payload []byte)
}

// protocolError is a frame that breaks RFC 6455: the connection is closed
// with code and reason.
type protocolError struct {
	code   int
	reason string
}

func (e *protocolError) Error() string {
	return "websocket: " + e.reason + " (" + strconv.Itoa(e.code) + ")"
}

func protoErr(code int, reason string) *protocolError {
	return &protocolError{code: code, reason: reason}
}

// frameReader decodes the frames a client sends (RFC 6455 section 5),
// from bytes fed in whatever pieces the socket returns them. Between
// messages it holds no buffer: only an incomplete frame, or the fragments
// of an unfinished message, are kept, for as long as they are incomplete.
//
// A text message's UTF-8 is checked as it arrives, the pieces of a frame
// not wholly received included: those are unmasked as they come, and done
// counts the payload bytes of the partial frame already unmasked and
// checked.
type frameReader struct {
	limit   int64     // the largest message accepted, in bytes
	partial []byte    // the start of a frame not wholly received yet
	need    int       // the partial frame's whole size; 0 while its header is incomplete
	done    int       // payload bytes of the partial frame unmasked and checked
	msg     []byte    // the fragments so far of a fragmented message
	msgOp   byte      // the opcode of that message; 0 when none is open
	text    utf8Check // the UTF-8 of the text message being received
}

// frameHeader is the decoded start of one frame.
type frameHeader struct {
	fin  bool
	op   byte
	mask [4]byte
	size int // header bytes
	n    int64
}

// feed decodes every complete frame in data and hands it to sink. It
// returns a *protocolError when a frame breaks the protocol, and stop true
// after the peer's close frame: nothing after it is read.
func (r *frameReader) feed(data []byte, sink frameSink) (stop bool, err error) {
	fromPartial := len(r.partial) > 0
	if fromPartial {
		r.partial = growTo(r.partial, len(data), r.need)
		r.partial = append(r.partial, data...)
		data = r.partial
	}
	need := 0
	for len(data) > 0 {
		h, ok, err := r.header(data)
		if err != nil {
			return true, err
		}
		if !ok {
			break
		}
		end := h.size + int(h.n)
		if len(data) < end {
			need = end
			if err := r.checkText(h, data[h.size:]); err != nil {
				return true, err
			}
			break
		}
		payload := data[h.size:end]
		if err := r.checkText(h, payload); err != nil {
			return true, err
		}
		unmask(payload[r.done:], h.mask, r.done)
		r.done = 0
		data = data[end:]
		if stop, err := r.frame(h, payload, sink); stop || err != nil {
			r.partial = nil
			return stop, err
		}
	}
	r.keep(data, fromPartial, need)
	return false, nil
}

// checkText unmasks and checks the UTF-8 of a text frame's payload bytes
// that arrived since the last call; other frames are unmasked whole, once
// complete. The check of a new text message starts afresh.
func (r *frameReader) checkText(h frameHeader, payload []byte) error {
	if h.op != opText && (h.op != opContinuation || r.msgOp != opText) {
		return nil
	}
	if h.op == opText && r.done == 0 {
		r.text = utf8Check{}
	}
	fresh := payload[r.done:]
	unmask(fresh, h.mask, r.done)
	r.done = len(payload)
	if !r.text.feed(fresh) {
		return protoErr(CloseInvalidData, "text message is not valid UTF-8")
	}
	return nil
}

// keep saves the bytes of an incomplete frame for the next feed, and lets
// the buffer go once nothing is pending. The buffer grows with the bytes
// that arrive, up to the frame's size once its header is known, so that a
// frame sent slowly holds about what has arrived of it.
func (r *frameReader) keep(rest []byte, fromPartial bool, need int) {
	r.need = need
	switch {
	case len(rest) == 0:
		r.partial = nil
	case fromPartial:
		r.partial = r.partial[:copy(r.partial, rest)]
	default:
		size := max(len(rest), 256)
		if need > 0 {
			size = max(min(size, need), len(rest))
		}
		r.partial = append(make([]byte, 0, size), rest...)
	}
}

// growTo makes room for n more bytes in b: at least double, but no more
// than need, the size of the frame b holds the start of, when known.
func growTo(b []byte, n, need int) []byte {
	if len(b)+n <= cap(b) {
		return b
	}
	size := max(2*cap(b), len(b)+n)
	if need > 0 {
		size = max(min(size, need), len(b)+n)
	}
	return append(make([]byte, 0, size), b...)
}

// header decodes and checks the frame header at the start of b; ok is
// false while b does not hold all of it.
func (r *frameReader) header(b []byte) (h frameHeader, ok bool, err error) {
	if len(b) < 2 {
		return h, false, nil
	}
	h.fin, h.op = b[0]&0x80 != 0, b[0]&0x0F
	masked, n := b[1]&0x80 != 0, int64(b[1]&0x7F)
	h.size = 2
	switch n {
	case 126:
		h.size += 2
	case 127:
		h.size += 8
	}
	if masked {
		h.size += 4
	}
	if len(b) < h.size {
		return h, false, nil
	}
	switch n {
	case 126:
		n = int64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		u := binary.BigEndian.Uint64(b[2:])
		if u > 1<<62 {
			return h, false, protoErr(CloseProtocolError, "frame length out of range")
		}
		n = int64(u)
	}
	h.n = n
	if masked {
		copy(h.mask[:], b[h.size-4:h.size])
	}
	return h, true, r.check(b[0], masked, h)
}

// check applies the framing rules to a header before its payload is read,
// so that an oversized message is refused before it is buffered.
func (r *frameReader) check(b0 byte, masked bool, h frameHeader) error {
	switch {
	case b0&0x70 != 0:
		return protoErr(CloseProtocolError, "reserved bits set")
	case !masked:
		return protoErr(CloseProtocolError, "client frame not masked")
	case h.op >= opClose:
		if h.op > opPong {
			return protoErr(CloseProtocolError, "unknown opcode "+strconv.Itoa(int(h.op)))
		}
		if !h.fin || h.n > 125 {
			return protoErr(CloseProtocolError, "fragmented or oversized control frame")
		}
		return nil
	case h.op == opContinuation && r.msgOp == 0:
		return protoErr(CloseProtocolError, "continuation frame with no message")
	case h.op != opContinuation && h.op != opText && h.op != opBinary:
		return protoErr(CloseProtocolError, "unknown opcode "+strconv.Itoa(int(h.op)))
	case h.op != opContinuation && r.msgOp != 0:
		return protoErr(CloseProtocolError, "new message before the last one ended")
	case int64(len(r.msg))+h.n > r.limit:
		return protoErr(CloseTooBig, "message over max_message_size")
	}
	return nil
}

// frame handles one complete, unmasked frame.
func (r *frameReader) frame(h frameHeader, payload []byte, sink frameSink) (stop bool, err error) {
	if h.op >= opClose {
		if h.op == opClose {
			if err := checkClose(payload); err != nil {
				return true, err
			}
		}
		sink.control(h.op, payload)
		return h.op == opClose, nil
	}
	if h.op != opContinuation {
		r.msgOp = h.op
		if h.fin { // the usual case: a whole message in one frame
			r.msgOp = 0
			return false, r.deliver(sink, h.op, payload)
		}
	}
	r.msg = appendCapped(r.msg, payload, r.limit)
	if !h.fin {
		return false, nil
	}
	op, msg := r.msgOp, r.msg
	r.msgOp, r.msg = 0, nil
	return false, r.deliver(sink, op, msg)
}

// appendCapped appends p to msg, growing it at most to limit bytes, which
// check keeps the message within.
func appendCapped(msg, p []byte, limit int64) []byte {
	if len(msg)+len(p) > cap(msg) {
		size := int(min(int64(max(2*cap(msg), len(msg)+len(p))), max(limit, int64(len(msg)+len(p)))))
		msg = append(make([]byte, 0, size), msg...)
	}
	return append(msg, p...)
}

// deliver hands a whole message to sink. A text message's UTF-8 was
// checked as it came; it must not end inside a code point.
func (r *frameReader) deliver(sink frameSink, op byte, msg []byte) error {
	if op == opText && !r.text.complete() {
		return protoErr(CloseInvalidData, "text message is not valid UTF-8")
	}
	sink.message(op, msg)
	return nil
}

// incomplete reports whether a frame or a fragmented message has started
// and not ended.
func (r *frameReader) incomplete() bool {
	return len(r.partial) > 0 || r.msgOp != 0
}

// unmask applies the client's masking key (RFC 6455 section 5.3) to b,
// which starts at offset off of a frame's payload, eight bytes at a time.
func unmask(b []byte, key [4]byte, off int) {
	if s := off & 3; s != 0 {
		key = [4]byte{key[s], key[(s+1)&3], key[(s+2)&3], key[(s+3)&3]}
	}
	if len(b) >= 8 {
		k32 := binary.LittleEndian.Uint32(key[:])
		k64 := uint64(k32) | uint64(k32)<<32
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[i&3]
	}
}
