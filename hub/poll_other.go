//go:build !linux

package hub

// polled is the poller's record of a connection; there is no poller but
// on Linux, and every connection is read on its own goroutine.
type polled struct{}

func (*polled) end() {}

func pollConn(*Client, *reader) bool { return false }
