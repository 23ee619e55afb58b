package hub

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Protocol selects how a connection speaks.
type Protocol int

const (
	// JSON is the default protocol: one JSON object per text frame (see
	// the README for every message type).
	JSON Protocol = iota
	// Raw relays every data frame unchanged to the other members of the
	// connection's one room, and sends nothing of its own.
	Raw
)

// inbound is a frame a client sends in the json protocol.
type inbound struct {
	Type string          `json:"type"`
	Room string          `json:"room"`
	ID   string          `json:"id"`
	Data json.RawMessage `json:"data"`
	Key  string          `json:"key"` // publish: its idempotency key
	// join: where the client stands, to resume; or how many recent
	// messages it asks for
	Since *Position `json:"since"`
	Last  int       `json:"last"`
	pageQuery
}

// MaxRoomName is the longest room name accepted, in bytes.
const MaxRoomName = 256

// validRoom reports whether name is usable as a room name.
func validRoom(name string) bool {
	return len(name) <= MaxRoomName && utf8.ValidString(name)
}

// jsonString appends s as a JSON string. Printable ASCII that needs no
// escape (connection ids always are, room names and request ids mostly)
// is copied as it is, which is what json.Marshal would write, without its
// allocation: a publish writes several such strings.
func jsonString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // never fails for a string
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// envelope helps build a JSON object frame by frame field.
type envelope struct {
	fb *frameBuilder
}

func newEnvelope(typ string, sizeHint int) envelope {
	e := envelope{fb: newFrameBuilder(sizeHint + 64)}
	e.fb.b = append(e.fb.b, `{"type":"`...)
	e.fb.b = append(e.fb.b, typ...)
	e.fb.b = append(e.fb.b, '"')
	return e
}

func (e envelope) str(key, val string) envelope {
	if val == "" {
		return e
	}
	e.fb.b = append(e.fb.b, ',', '"')
	e.fb.b = append(e.fb.b, key...)
	e.fb.b = append(e.fb.b, '"', ':')
	e.fb.b = jsonString(e.fb.b, val)
	return e
}

// quoted appends a field whose value is JSON already: a quoted string or
// a client's data.
func (e envelope) quoted(key string, q []byte) envelope {
	e.fb.b = append(e.fb.b, ',', '"')
	e.fb.b = append(e.fb.b, key...)
	e.fb.b = append(e.fb.b, '"', ':')
	e.fb.b = append(e.fb.b, q...)
	return e
}

func (e envelope) num(key string, n uint64) envelope {
	e.fb.b = append(e.fb.b, ',', '"')
	e.fb.b = append(e.fb.b, key...)
	e.fb.b = append(e.fb.b, '"', ':')
	e.fb.b = strconv.AppendUint(e.fb.b, n, 10)
	return e
}

func (e envelope) boolean(key string, v bool) envelope {
	e.fb.b = append(e.fb.b, ',', '"')
	e.fb.b = append(e.fb.b, key...)
	e.fb.b = append(e.fb.b, '"', ':')
	e.fb.b = strconv.AppendBool(e.fb.b, v)
	return e
}

func (e envelope) frame() *Frame {
	e.fb.b = append(e.fb.b, '}')
	return e.fb.finish(opText)
}

func welcomeFrame(client, user string) *Frame {
	return newEnvelope("welcome", 64).str("client", client).str("user", user).frame()
}

// joinedFrame answers a join with the room's position at the join, for a
// resume whether it is recovered, and the presence it carries. The caller
// holds r.mu.
func joinedFrame(r *Room, members int, id string, p joinedPresence, res resumeAnswer) *Frame {
	e := newEnvelope("joined", 96+p.sizeHint()).quoted("room", r.quoted).num("members", uint64(members)).
		str("epoch", r.epoch).num("seq", r.seq)
	if res.asked {
		e = e.boolean("recovered", res.reason == "").str("reason", res.reason)
	}
	return p.append(e).str("id", id).frame()
}

func leftFrame(r *Room, id string) *Frame {
	return newEnvelope("left", 64).quoted("room", r.quoted).str("id", id).frame()
}

func presenceFrame(r *Room, event string, m Member, members int) *Frame {
	return newEnvelope("presence", 96).quoted("room", r.quoted).str("event", event).
		str("client", m.Client).str("user", m.User).num("members", uint64(members)).frame()
}

// messageFrame is the json protocol's form of a room message. from is
// empty for a message published by the server.
func messageFrame(r *Room, from string, data []byte, seq uint64) *Frame {
	return newEnvelope("message", len(data)+len(r.quoted)+48).quoted("room", r.quoted).
		str("from", from).quoted("data", data).num("seq", seq).frame()
}

func ackFrame(id string, seq uint64, duplicate bool) *Frame {
	e := newEnvelope("ack", 48).str("id", id).num("seq", seq)
	if duplicate {
		e = e.boolean("duplicate", true)
	}
	return e.frame()
}

// errorFrame builds an `error` frame; id is the request's correlation id.
func errorFrame(code, message, id string) *Frame {
	return newEnvelope("error", len(message)+48).str("code", code).str("message", message).str("id", id).frame()
}

// dataAsJSON returns data as a JSON value: unchanged when it is valid JSON,
// else as a JSON string (invalid UTF-8 replaced).
func dataAsJSON(data []byte) []byte {
	if json.Valid(data) {
		return data
	}
	return jsonString(nil, string(data))
}

// pageQuery is what a `members` request adds to a frame: the connection id
// after which the page starts, and how many members it lists at most.
type pageQuery struct {
	After string `json:"after"`
	Limit int    `json:"limit"`
}

// joinedPresence is what `joined` says of the room's members: the users
// count, and the members themselves when list is set.
type joinedPresence struct {
	users   int
	list    bool
	members []Member
}

func (p joinedPresence) sizeHint() int { return 16 + 48*len(p.members) }

func (p joinedPresence) append(e envelope) envelope {
	e = e.num("users", uint64(p.users))
	if p.list {
		e.fb.b = appendMembers(append(e.fb.b, `,"clients":`...), p.members)
	}
	return e
}

// appendMembers appends ms as a JSON array of {"client","user"} objects.
func appendMembers(b []byte, ms []Member) []byte {
	b = append(b, '[')
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonString(append(b, `{"client":`...), m.Client)
		if m.User != "" {
			b = jsonString(append(b, `,"user":`...), m.User)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// membersFrame answers a `members` request with one page; next, when set,
// is the `after` of the following page.
func membersFrame(r *Room, page []Member, c Counts, next, id string) *Frame {
	e := newEnvelope("members", 96+48*len(page)).quoted("room", r.quoted).
		num("members", uint64(c.Members)).num("users", uint64(c.Users))
	e.fb.b = appendMembers(append(e.fb.b, `,"clients":`...), page)
	return e.str("next", next).str("id", id).frame()
}

// diffFrame is a big room's batch of presence changes.
func diffFrame(r *Room, d *presenceDiff) *Frame {
	e := newEnvelope("presence_diff", 128+48*(len(d.joins)+len(d.leaves))).quoted("room", r.quoted)
	e.fb.b = appendMembers(append(e.fb.b, `,"joins":`...), d.joins)
	e.fb.b = appendMembers(append(e.fb.b, `,"leaves":`...), d.leaves)
	return e.num("omitted", uint64(d.omitted)).num("members", uint64(d.counts.Members)).
		num("users", uint64(d.counts.Users)).frame()
}
