package broker

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/caddyrooms/caddyrooms/hub"
)

// errWire is the error of a channel message or record the broker cannot
// read.
var errWire = errors.New("broker: unreadable message")

// flags are a message's sender kind and frame type, as one field.
func flags(m hub.ClusterMessage) string {
	switch {
	case m.Raw && m.Binary:
		return "rb"
	case m.Raw:
		return "r"
	}
	return "j"
}

// setFlags sets m's Raw and Binary from f.
func setFlags(m *hub.ClusterMessage, f string) {
	m.Raw = strings.HasPrefix(f, "r")
	m.Binary = f == "rb"
}

// fields splits s into n fields at newlines, the last one holding the rest.
func fields(s string, n int) ([]string, error) {
	f := strings.SplitN(s, "\n", n)
	if len(f) != n {
		return nil, errWire
	}
	return f, nil
}

// parseMessage reads a message of a room's channel (after its "m").
func parseMessage(s string) (hub.ClusterMessage, time.Time, error) {
	var m hub.ClusterMessage
	f, err := fields(s, 5)
	if err != nil {
		return m, time.Time{}, err
	}
	if m.Seq, err = strconv.ParseUint(f[0], 10, 64); err != nil {
		return m, time.Time{}, errWire
	}
	ms, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return m, time.Time{}, errWire
	}
	setFlags(&m, f[2])
	m.From, m.Data = f[3], []byte(f[4])
	return m, time.UnixMilli(ms), nil
}

// presence is a presence event of a room's channel.
type presence struct {
	event, node string
	member      hub.Member
	counts      hub.Counts
}

// parsePresence reads a presence event (after its "p").
func parsePresence(s string) (presence, error) {
	var p presence
	f, err := fields(s, 6)
	if err != nil {
		return p, err
	}
	members, err1 := strconv.Atoi(f[2])
	users, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || (f[0] != "join" && f[0] != "leave") {
		return p, errWire
	}
	p.event, p.node = f[0], f[1]
	p.counts = hub.Counts{Members: members, Users: users}
	p.member = hub.Member{Client: f[4], User: f[5]}
	return p, nil
}

// record is a member's record in rooms:{R}:m.
func record(node string, m hub.ClusterMember) string {
	return node + "\n" + m.RemoteAddr + "\n" + strconv.FormatInt(m.JoinedAt.UnixMilli(), 10) + "\n" + m.User
}

// parseRecord reads a member record.
func parseRecord(id, s string) (hub.ClusterClient, error) {
	var c hub.ClusterClient
	f, err := fields(s, 4)
	if err != nil {
		return c, err
	}
	ms, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return c, errWire
	}
	c.Node, c.RemoteAddr, c.JoinedAt, c.User, c.ID = f[0], f[1], time.UnixMilli(ms).UTC(), f[3], id
	return c, nil
}

// kick is the message on a node's channel that kicks one member.
func kick(room, client string, code int) string {
	return "k" + strconv.Itoa(code) + "\n" + client + "\n" + room
}

// parseKick reads a kick (after its "k").
func parseKick(s string) (room, client string, code int, err error) {
	f, err := fields(s, 3)
	if err != nil {
		return "", "", 0, err
	}
	if code, err = strconv.Atoi(f[0]); err != nil {
		return "", "", 0, errWire
	}
	return f[2], f[1], code, nil
}

// parseReceipt reads a publish key's "<seq>:<delivered>".
func parseReceipt(s string) (hub.Receipt, error) {
	a, b, ok := strings.Cut(s, ":")
	seq, err1 := strconv.ParseUint(a, 10, 64)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return hub.Receipt{}, errWire
	}
	return hub.Receipt{Seq: seq, Delivered: n}, nil
}
