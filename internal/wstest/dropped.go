package wstest

import (
	"regexp"
	"strconv"
)

// dropNotice is the text of a messages_dropped error: how many were lost.
var dropNotice = regexp.MustCompile(`^(\d+) messages dropped`)

// ExpectDroppedOldest reads a drop_oldest client's frames until it has
// seen, or been told it lost, the messages of room numbered seq 1 to n,
// and returns how many it received and how many it was told were dropped.
// It fails the test unless the server dropped the oldest and told it so in
// place: the messages come in seq order, the last one received is n (the
// newest is never dropped), each gap in seq comes right after a
// messages_dropped notice counting exactly the messages missing, and each
// notice comes right before the message that follows the gap. Frames of
// other rooms, and presence, are skipped.
func (c *Client) ExpectDroppedOldest(room string, n int64) (received, dropped int) {
	c.t.Helper()
	var last, told int64 // the last seq received; the count of a notice not yet followed by its message
	for last < n {
		f := c.Next()
		switch {
		case f.Type() == "error":
			m := dropNotice.FindStringSubmatch(f.Str("message"))
			if f.Str("code") != "messages_dropped" || m == nil || told != 0 {
				c.t.Fatalf("%s: after seq %d got %v, want a message (or one messages_dropped notice)", c, last, f)
			}
			told, _ = strconv.ParseInt(m[1], 10, 64)
			dropped += int(told)
		case f.Type() == "message" && f.Str("room") == room:
			if seq := f.Num("seq"); seq != last+told+1 {
				c.t.Fatalf("%s: message seq %d after seq %d and a notice of %d dropped: want seq %d", c, seq, last, told, last+told+1)
			}
			last += told + 1
			told = 0
			received++
		case f.Type() == "message" || f.Type() == "presence":
		default:
			c.t.Fatalf("%s: unexpected %v", c, f)
		}
	}
	return received, dropped
}
