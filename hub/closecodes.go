package hub

import "errors"

// Close codes the server sends or reads (RFC 6455 section 7.4.1). After the
// 1xxx codes a client may reconnect (with backoff); the 4xxx codes (RFC
// 6455's private range) say that reconnecting would not help.
const (
	CloseNormal        = 1000
	CloseGoingAway     = 1001 // the server is stopping: reconnect
	CloseProtocolError = 1002 // a frame that breaks the framing rules
	CloseNoStatus      = 1005 // a close frame with no code: never sent
	CloseInvalidData   = 1007 // a text message that is not UTF-8
	ClosePolicy        = 1008 // send queue full, pong timeout, route room full or unavailable, kick --reconnect: reconnect
	CloseTooBig        = 1009 // a message over max_message_size: reconnect

	CloseKicked      = 4000 // disconnected by the operator: do not reconnect
	CloseForbidden   = 4003 // the route's room refused the connection for good: do not reconnect
	CloseTooManyErrs = 4008 // max_errors refused frames in a row: do not reconnect
)

// refusedRoomCloseCode is the close code for a connection whose route room
// refused it: CloseForbidden when a new connection would be refused again
// (forbidden, an invalid room name), else ClosePolicy.
func refusedRoomCloseCode(err error) int {
	var e *Error
	if errors.As(err, &e) && (e.Code == CodeForbidden || e.Code == CodeInvalidRoom) {
		return CloseForbidden
	}
	return ClosePolicy
}
