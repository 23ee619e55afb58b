//go:build !linux

package hub

import "errors"

// polled is the poller's record of a connection; there is no poller but
// on Linux, and every connection is read on its own goroutine.
type polled struct{}

func (*polled) end() {}

func pollConn(*Client, *reader) bool { return false }

// inlineIO is empty: without a poller nothing is written inline.
type inlineIO struct{}

func (*polled) canWriteInline() bool { return false }

func (*polled) writeNow([]*Frame, *inlineIO) (int, error) { return 0, errNoInline }

var errNoInline = errors.New("no inline writes on this system")
