package hub

import (
	"errors"
	"fmt"
)

// Error codes sent in `error` frames. They are part of the wire contract.
const (
	CodeBadJSON      = "bad_json"             // the frame is not a JSON object
	CodeBinaryFrame  = "binary_frame"         // a binary frame in the json protocol
	CodeUnknownType  = "unknown_type"         // "type" is missing or unknown
	CodeMissingRoom  = "missing_room"         // "room" is missing or empty
	CodeInvalidRoom  = "invalid_room"         // the room name is too long or not valid UTF-8
	CodeMissingData  = "missing_data"         // a publish without "data"
	CodeNotMember    = "not_member"           // leave or publish in a room the client is not in
	CodeTooManyRooms = "too_many_rooms"       // the connection is in max_rooms rooms already
	CodeRoomFull     = "room_full"            // the room has max_members members already
	CodeRateLimited  = "rate_limited"         // over the connection's rate limit; the frame was not handled
	CodeForbidden    = "forbidden"            // the connection may not join or publish there
	CodeDropped      = "messages_dropped"     // the send queue overflowed and older messages were dropped
	CodeUnavailable  = "unavailable"          // the server is shutting down, or the cluster's broker is unreachable
	CodeAuthFailed   = "authorization_failed" // the authorize backend could not be asked; try again later
	CodeInvalidKey   = "invalid_key"          // a publish key over 256 bytes
	CodeInvalidLimit = "invalid_limit"        // a members request's limit is out of range
	// Counted in metrics only, never sent in an `error` frame:
	CodeMessageTooBig = "message_too_big" // a message over max_message_size, closed with 1009
	CodeInternal      = "internal"        // a refusal of no known kind
)

// ErrorCodes lists every code above, for metrics that label by code.
var ErrorCodes = []string{
	CodeBadJSON, CodeBinaryFrame, CodeUnknownType, CodeMissingRoom, CodeInvalidRoom,
	CodeMissingData, CodeNotMember, CodeTooManyRooms, CodeRoomFull, CodeRateLimited,
	CodeForbidden, CodeDropped, CodeUnavailable, CodeAuthFailed, CodeMessageTooBig, CodeInternal,
	CodeInvalidLimit, CodeInvalidKey,
}

// Error is a refusal sent to a client as an `error` frame.
type Error struct {
	Code    string
	Message string
	cause   error // what made the hub refuse, if anything but the request
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap is the cause of the refusal: for code "unavailable" from a
// cluster, an error that wraps ErrUnavailable.
func (e *Error) Unwrap() error { return e.cause }

// brokerError is the refusal of what a cluster could not do: code
// "unavailable", and errors.Is(err, ErrUnavailable) holds for it.
func brokerError(err error) error {
	if !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return &Error{Code: CodeUnavailable, Message: "the broker is unreachable; try again", cause: err}
}

// isUnavailable reports whether err is a cluster's refusal.
func isUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }

// newError is a refusal with code and message.
func newError(code, message string) *Error { return &Error{Code: code, Message: message} }

var (
	errNotMember    = newError(CodeNotMember, "not a member of that room")
	errTooManyRooms = newError(CodeTooManyRooms, "the connection is in too many rooms")
	errRoomFull     = newError(CodeRoomFull, "the room is full")
	errInvalidRoom  = newError(CodeInvalidRoom, "room names are valid UTF-8 of at most 256 bytes")
	errMissingRoom  = newError(CodeMissingRoom, `"room" is required`)
	errClosing      = newError(CodeUnavailable, "the server is shutting down")
)
