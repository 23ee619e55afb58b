package hub

// Error is a refusal sent to a client as an `error` frame.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// errorf is shorthand for a refusal.
func refuse(code, message string) *Error { return &Error{Code: code, Message: message} }

var (
	errNotMember    = refuse(CodeNotMember, "not a member of that room")
	errTooManyRooms = refuse(CodeTooManyRooms, "the connection is in too many rooms")
	errRoomFull     = refuse(CodeRoomFull, "the room is full")
	errInvalidRoom  = refuse(CodeInvalidRoom, "room names are valid UTF-8 of at most 256 bytes")
	errMissingRoom  = refuse(CodeMissingRoom, `"room" is required`)
	errClosing      = refuse(CodeUnavailable, "the server is shutting down")
)
