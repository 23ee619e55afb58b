package hub

// Close codes the server sends or reads (RFC 6455 section 7.4.1).
const (
	CloseNormal        = 1000
	CloseGoingAway     = 1001 // the server is stopping
	CloseProtocolError = 1002 // a frame that breaks the framing rules
	CloseNoStatus      = 1005 // a close frame with no code: never sent
	CloseInvalidData   = 1007 // a text message that is not UTF-8
	ClosePolicy        = 1008 // slow client, too many errors, kicked, pong timeout
	CloseTooBig        = 1009 // a message over max_message_size
)
