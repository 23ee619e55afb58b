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
}

// MaxRoomName is the longest room name accepted, in bytes.
const MaxRoomName = 256

// validRoom reports whether name is usable as a room name.
func validRoom(name string) bool {
	return len(name) <= MaxRoomName && utf8.ValidString(name)
}

// jsonString appends s as a JSON string.
func jsonString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // never fails for a string
	return append(b, q...)
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

// joinedFrame answers a join with the room's position at the join, and
// for a resume whether it is recovered. The caller holds r.mu.
func joinedFrame(r *Room, members int, id string, res resumeAnswer) *Frame {
	e := newEnvelope("joined", 96).quoted("room", r.quoted).num("members", uint64(members)).
		str("epoch", r.epoch).num("seq", r.seq)
	if res.asked {
		e = e.boolean("recovered", res.reason == "").str("reason", res.reason)
	}
	return e.str("id", id).frame()
}

func leftFrame(r *Room, id string) *Frame {
	return newEnvelope("left", 64).quoted("room", r.quoted).str("id", id).frame()
}

func presenceFrame(r *Room, event string, c *Client, members int) *Frame {
	return newEnvelope("presence", 96).quoted("room", r.quoted).str("event", event).
		str("client", c.ID).str("user", c.User).num("members", uint64(members)).frame()
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
