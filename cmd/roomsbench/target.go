package main

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// A target is the wire protocol of one server under test: where a client
// connects, how it gets into its room, how it publishes and what it does with
// frames that carry no payload.
type target struct {
	name string
	// path is the URL path (and query) for a client of room.
	path func(room string) string
	// join runs after the WebSocket handshake and returns once the client is
	// a member of room.
	join func(c *wsConn, room string, timeout time.Duration) error
	// appendPublish appends the frame that publishes payload to room.
	appendPublish func(dst []byte, room string, payload []byte) []byte
	// echoesSender tells whether the publisher receives its own messages.
	echoesSender bool
	// control handles a frame without a payload (it may answer it).
	control func(c *wsConn, frame []byte) error
}

// targets lists the supported servers by their -target name.
var targets = map[string]*target{
	"json": {
		name:          "json",
		path:          func(room string) string { return "/ws/" + room },
		join:          joinJSON,
		appendPublish: appendPublishJSON,
		echoesSender:  true,
		control:       ignoreFrame,
	},
	"raw": {
		name:          "raw",
		path:          func(room string) string { return "/raw/" + room },
		join:          joinByPath,
		appendPublish: appendPublishRaw,
		echoesSender:  false,
		control:       ignoreFrame,
	},
	"nchan": {
		name:          "nchan",
		path:          func(room string) string { return "/ws/" + room },
		join:          joinByPath,
		appendPublish: appendPublishRaw,
		echoesSender:  true,
		control:       ignoreFrame,
	},
	"socketio": {
		name:          "socketio",
		path:          func(string) string { return "/socket.io/?EIO=4&transport=websocket" },
		join:          joinSocketIO,
		appendPublish: appendPublishSocketIO,
		echoesSender:  true,
		control:       answerSocketIOPing,
	},
}

// targetNames returns the -target values, for usage text.
func targetNames() string { return "json|raw|nchan|socketio" }

func ignoreFrame(*wsConn, []byte) error { return nil }

// joinByPath is for servers where the URL alone puts the client in the room
// and that send nothing on connect (our raw protocol, Nchan).
func joinByPath(*wsConn, string, time.Duration) error { return nil }

// joinJSON reads `welcome` and then the `joined` for the room named by the
// URL. presence frames about other clients may come in between.
func joinJSON(c *wsConn, room string, timeout time.Duration) error {
	c.ws.SetReadDeadline(time.Now().Add(timeout))
	defer c.ws.SetReadDeadline(time.Time{})
	welcomed := false
	for {
		f, err := c.readFrame()
		if err != nil {
			return fmt.Errorf("waiting for welcome/joined: %w", err)
		}
		switch frameType(f) {
		case "welcome":
			welcomed = true
		case "joined":
			if !welcomed {
				return fmt.Errorf("joined before welcome: %s", f)
			}
			return nil
		case "error":
			return fmt.Errorf("server error: %s", f)
		}
	}
}

// frameType returns the "type" of a json-protocol frame, found without a
// full decode.
func frameType(f []byte) string {
	i := bytes.Index(f, []byte(`"type":`))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(f[i+len(`"type":`):], " ")
	if len(rest) == 0 || rest[0] != '"' {
		return ""
	}
	end := bytes.IndexByte(rest[1:], '"')
	if end < 0 {
		return ""
	}
	return string(rest[1 : 1+end])
}

func appendPublishJSON(dst []byte, room string, payload []byte) []byte {
	dst = append(dst, `{"type":"publish","room":"`...)
	dst = append(dst, room...)
	dst = append(dst, `","data":`...)
	dst = append(dst, payload...)
	return append(dst, '}')
}

func appendPublishRaw(dst []byte, _ string, payload []byte) []byte {
	return append(dst, payload...)
}

// joinSocketIO speaks Engine.IO 4 / Socket.IO 5 over a bare WebSocket: read
// the open packet `0{...}`, connect to the main namespace with `40`, wait for
// its `40{...}`, then send the join event with ack id 0 and wait for the ack
// `430[...]` (the bench server acknowledges a join once socket.join is done).
func joinSocketIO(c *wsConn, room string, timeout time.Duration) error {
	c.ws.SetReadDeadline(time.Now().Add(timeout))
	defer c.ws.SetReadDeadline(time.Time{})
	step := 0
	for {
		f, err := c.readFrame()
		if err != nil {
			return fmt.Errorf("socket.io handshake step %d: %w", step, err)
		}
		switch {
		case string(f) == "2":
			if err := c.writeText([]byte("3")); err != nil {
				return err
			}
		case step == 0 && len(f) > 0 && f[0] == '0':
			if err := c.writeText([]byte("40")); err != nil {
				return err
			}
			step = 1
		case step == 1 && strings.HasPrefix(string(f), "40"):
			if err := c.writeText([]byte(`420["join","` + room + `"]`)); err != nil {
				return err
			}
			step = 2
		case step == 1 && strings.HasPrefix(string(f), "44"):
			return fmt.Errorf("socket.io connect refused: %s", f)
		case step == 2 && strings.HasPrefix(string(f), "430"):
			return nil
		}
	}
}

func appendPublishSocketIO(dst []byte, room string, payload []byte) []byte {
	dst = append(dst, `42["pub","`...)
	dst = append(dst, room...)
	dst = append(dst, `",`...)
	dst = append(dst, payload...)
	return append(dst, ']')
}

// answerSocketIOPing answers the server's Engine.IO ping `2` with pong `3`;
// without it the server drops the client after pingInterval+pingTimeout.
func answerSocketIOPing(c *wsConn, f []byte) error {
	if len(f) == 1 && f[0] == '2' {
		return c.writeText([]byte("3"))
	}
	return nil
}
