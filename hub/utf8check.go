package hub

import "unicode/utf8"

// utf8Check validates a text message as its bytes arrive, fragment by
// fragment or in pieces of one frame, so that a message is refused at the
// first byte that can no longer be UTF-8, not only at its end. A code
// point split between two pieces is held, at most three bytes, until the
// next piece completes it.
type utf8Check struct {
	pend [utf8.UTFMax]byte
	n    int // bytes held in pend
}

// feed checks the next bytes of the message; false when they cannot be
// part of valid UTF-8.
func (u *utf8Check) feed(p []byte) bool {
	for u.n > 0 && len(p) > 0 { // complete the held code point first
		u.pend[u.n] = p[0]
		u.n++
		p = p[1:]
		if utf8.FullRune(u.pend[:u.n]) {
			if r, _ := utf8.DecodeRune(u.pend[:u.n]); r == utf8.RuneError {
				return false
			}
			u.n = 0
		} else if !validPrefix(u.pend[:u.n]) {
			return false
		}
	}
	if len(p) == 0 {
		return true // what is held stays held
	}
	tail := incompleteTail(p)
	if !utf8.Valid(p[:len(p)-tail]) {
		return false
	}
	u.n = copy(u.pend[:], p[len(p)-tail:])
	return u.n == 0 || validPrefix(u.pend[:u.n])
}

// complete reports whether the message ended on a whole code point.
func (u *utf8Check) complete() bool { return u.n == 0 }

// incompleteTail is how many bytes at the end of p start a code point
// that p does not finish: zero to three.
func incompleteTail(p []byte) int {
	for i := 1; i <= utf8.UTFMax-1 && i <= len(p); i++ {
		b := p[len(p)-i]
		if b < 0x80 {
			return 0 // ASCII: nothing is open
		}
		if b >= 0xC0 { // a lead byte
			if utf8.FullRune(p[len(p)-i:]) {
				return 0
			}
			return i
		}
	}
	return 0 // continuation bytes only: utf8.Valid judges them
}

// validPrefix reports whether p, the start of a multi-byte code point,
// can still be completed into a valid one (RFC 3629: no overlong form,
// no surrogate, nothing above U+10FFFF).
func validPrefix(p []byte) bool {
	lo, hi := byte(0x80), byte(0xBF) // the second byte's range
	switch b := p[0]; {
	case b >= 0xC2 && b <= 0xDF, b >= 0xE1 && b <= 0xEC, b == 0xEE, b == 0xEF, b >= 0xF1 && b <= 0xF3:
	case b == 0xE0:
		lo = 0xA0
	case b == 0xED:
		hi = 0x9F
	case b == 0xF0:
		lo = 0x90
	case b == 0xF4:
		hi = 0x8F
	default:
		return false
	}
	if len(p) > 1 && (p[1] < lo || p[1] > hi) {
		return false
	}
	for _, c := range p[min(len(p), 2):] {
		if c < 0x80 || c > 0xBF {
			return false
		}
	}
	return true
}
