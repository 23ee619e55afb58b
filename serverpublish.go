package caddyrooms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/dustin/go-humanize"

	"github.com/caddyrooms/caddyrooms/hub"
)

// A publish by the server, rather than by a member, comes over HTTP: the
// admin API's POST /rooms/{room}/messages and the rooms_publish handler.
// Both go through publishFromServer, which reads and checks the body,
// publishes it and answers a publishResult or an error that
// publishStatus maps to the HTTP status. Idempotency keys, history and a
// cluster broker hook in there: a key (the Idempotency-Key header) is one
// more field of serverPublish, a broker that cannot order the message one
// more publishError (503).

// serverPublish is one publish by the server: where it goes and how large
// its body may be.
type serverPublish struct {
	// room is the room to publish into.
	room string
	// maxSize is rooms_publish's max_size. The one limit of a published
	// body is the hub's largest max_message_size, so the server may publish
	// what its members may; a non-zero maxSize replaces it.
	maxSize int64
}

// publishResult is the answer to a publish by the server.
type publishResult struct {
	Seq       uint64 `json:"seq"`       // the message's seq in its room
	Delivered int    `json:"delivered"` // how many members it was queued for
	// Duplicate is true for a repeat of a publish with the same
	// Idempotency-Key: nothing was delivered again, and Seq and Delivered
	// are the first one's.
	Duplicate bool `json:"duplicate,omitempty"`

	bytes int // the data's size, for the log
}

// publishError is a publish the server refused, with the HTTP status
// that answers it.
type publishError struct {
	status int
	msg    string
}

func (e *publishError) Error() string { return e.msg }

func refusePublish(status int, format string, args ...any) error {
	return &publishError{status: status, msg: fmt.Sprintf(format, args...)}
}

// publishFromServer publishes the JSON body of r into p.room of hub e as a
// message with no sender. A nil e (a hub no loaded config uses) has no
// rooms.
func publishFromServer(e *hubEntry, r *http.Request, p serverPublish) (publishResult, error) {
	if e == nil {
		return publishResult{}, noRoomError(p.room)
	}
	limit, limitName := e.maxMessageSize(), "the hub's largest max_message_size"
	if p.maxSize > 0 {
		limit, limitName = p.maxSize, "rooms_publish's max_size"
	}
	data, err := readPublishBody(r, limit, limitName)
	if err != nil {
		return publishResult{}, err
	}
	key := r.Header.Get(idempotencyKey)
	if len(key) > hub.MaxKey {
		return publishResult{}, refusePublish(http.StatusBadRequest, "the %s header is longer than %d bytes", idempotencyKey, hub.MaxKey)
	}
	res, ok, err := e.PublishKeyed(p.room, data, key)
	if errors.Is(err, hub.ErrUnavailable) {
		return publishResult{}, refusePublish(http.StatusServiceUnavailable, "%v", err)
	}
	if err != nil {
		return publishResult{}, refusePublish(http.StatusBadRequest, "%v", err)
	}
	if !ok {
		return publishResult{}, noRoomError(p.room)
	}
	return publishResult{Seq: res.Seq, Delivered: res.Delivered, Duplicate: res.Duplicate, bytes: len(data)}, nil
}

// idempotencyKey is the header that makes a publish by the server
// idempotent: a repeat with the same key, to the same room, is not
// delivered again and gets the first one's answer, with "duplicate":true.
const idempotencyKey = "Idempotency-Key"

// readPublishBody reads r's body, at most limit bytes, and returns it
// compacted: it must be one JSON value, the message's data. limitName
// says where the limit comes from.
func readPublishBody(r *http.Request, limit int64, limitName string) ([]byte, error) {
	tooLarge := refusePublish(http.StatusRequestEntityTooLarge, "the body is larger than %s, %s", humanize.IBytes(uint64(limit)), limitName)
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, refusePublish(http.StatusBadRequest, "reading the body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, tooLarge
	}
	var data bytes.Buffer
	if err := json.Compact(&data, body); err != nil || data.Len() == 0 {
		return nil, refusePublish(http.StatusBadRequest, "the body must be one JSON value, the message's data")
	}
	return data.Bytes(), nil
}

func noRoomError(room string) error {
	return refusePublish(http.StatusNotFound, "no room %q: it has no members, so the message would reach no one", room)
}

// publishStatus is the HTTP status for an error of publishFromServer.
func publishStatus(err error) int {
	var pe *publishError
	if errors.As(err, &pe) {
		return pe.status
	}
	return http.StatusInternalServerError
}

// writeJSON answers v as JSON with status: the one JSON writer of the
// admin API and rooms_publish.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b) // the status is sent: a failed write cannot be answered
	return nil
}
