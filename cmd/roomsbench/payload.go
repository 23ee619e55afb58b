package main

import (
	"bytes"
	"strconv"
)

// A payload is the JSON object every publisher sends as its message data:
//
//	{"t":<send time, unix nanoseconds>,"p":<publisher>,"n":<counter>,"x":"xxx..."}
//
// "x" pads the object to the requested size. The receive path never decodes
// JSON: it finds the keys with bytes.Index, so the same parser works whether
// the payload arrives bare (raw, nchan), inside a json-protocol envelope or
// inside a Socket.IO event array, and whether or not the server re-encoded it
// (key order and spacing after the colon do not matter).

var (
	keyTime      = []byte(`"t":`)
	keyPublisher = []byte(`"p":`)
	keyCounter   = []byte(`"n":`)
)

// minPayloadSize is the smallest -size: room for the fixed part with a
// 19-digit time, a 5-digit publisher and a 9-digit counter.
const minPayloadSize = 64

// appendPayload appends to dst one payload of exactly size bytes (or, when
// size is smaller than the fixed part, as small as it can be) and returns it.
func appendPayload(dst []byte, sentNanos int64, publisher, counter int, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"t":`...)
	dst = strconv.AppendInt(dst, sentNanos, 10)
	dst = append(dst, `,"p":`...)
	dst = strconv.AppendInt(dst, int64(publisher), 10)
	dst = append(dst, `,"n":`...)
	dst = strconv.AppendInt(dst, int64(counter), 10)
	dst = append(dst, `,"x":"`...)
	pad := size - (len(dst) - start) - len(`"}`)
	for i := 0; i < pad; i++ {
		dst = append(dst, 'x')
	}
	return append(dst, `"}`...)
}

// stamp is what the receive path learns from one frame.
type stamp struct {
	sentNanos int64 // the publisher's send time
	publisher int   // which publisher (its room index)
	counter   int   // the publisher's counter, 1, 2, 3, ...
}

// parseStamp finds a payload's fields anywhere in frame. ok is false for a
// frame that carries no payload (welcome, joined, presence, ack, pings).
func parseStamp(frame []byte) (s stamp, ok bool) {
	t, ok := numberAfter(frame, keyTime)
	if !ok {
		return stamp{}, false
	}
	s.sentNanos = t
	if p, ok := numberAfter(frame, keyPublisher); ok {
		s.publisher = int(p)
	}
	if n, ok := numberAfter(frame, keyCounter); ok {
		s.counter = int(n)
	}
	return s, true
}

// numberAfter returns the JSON number that follows the first occurrence of
// key in frame, skipping spaces. A number in exponent or decimal form (which
// a server that re-encodes numbers as doubles may produce) is accepted and
// truncated to an integer.
func numberAfter(frame, key []byte) (int64, bool) {
	i := bytes.Index(frame, key)
	if i < 0 {
		return 0, false
	}
	i += len(key)
	for i < len(frame) && (frame[i] == ' ' || frame[i] == '\t') {
		i++
	}
	j := i
	if j < len(frame) && frame[j] == '-' {
		j++
	}
	var v int64
	digits := 0
	for ; j < len(frame) && frame[j] >= '0' && frame[j] <= '9'; j++ {
		v = v*10 + int64(frame[j]-'0')
		digits++
	}
	if digits == 0 {
		return 0, false
	}
	if j < len(frame) && (frame[j] == '.' || frame[j] == 'e' || frame[j] == 'E') {
		k := j
		for k < len(frame) && bytes.IndexByte([]byte("0123456789.eE+-"), frame[k]) >= 0 {
			k++
		}
		f, err := strconv.ParseFloat(string(frame[i:k]), 64)
		if err != nil {
			return 0, false
		}
		return int64(f), true
	}
	if frame[i] == '-' {
		v = -v
	}
	return v, true
}
