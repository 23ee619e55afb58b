package hub

import (
	"encoding/binary"
	"unicode/utf8"
)

// checkClose validates a close frame's payload: empty, or a code that may
// be sent on the wire followed by a UTF-8 reason.
func checkClose(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if len(p) == 1 {
		return protoErr(CloseProtocolError, "close frame of one byte")
	}
	if !validCloseCode(int(binary.BigEndian.Uint16(p))) {
		return protoErr(CloseProtocolError, "invalid close code")
	}
	if !utf8.Valid(p[2:]) {
		return protoErr(CloseInvalidData, "close reason is not valid UTF-8")
	}
	return nil
}

// validCloseCode reports whether a peer may send code (RFC 6455 section
// 7.4 and the IANA registry).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	default:
		return code >= 3000 && code <= 4999
	}
}

// closeCodeOf is the code of a close frame's payload; 1005 when it has none.
func closeCodeOf(p []byte) int {
	if len(p) < 2 {
		return CloseNoStatus
	}
	return int(binary.BigEndian.Uint16(p))
}
