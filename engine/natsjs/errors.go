package natsjs

import "errors"

// Errors returned by the package; match them with errors.Is. Errors from
// the client library are wrapped under one of these, so the cause stays
// readable and reachable with errors.As.
var (
	// ErrOptions is returned by NewPublisher and NewReader for options
	// that do not make sense (a bad prefix, a negative size).
	ErrOptions = errors.New("natsjs: invalid options")
	// ErrBadURL is returned for a server URL that cannot be parsed.
	ErrBadURL = errors.New("natsjs: bad server URL")
	// ErrConnect is returned when no server answered within the connect
	// timeout, or the server has no JetStream.
	ErrConnect = errors.New("natsjs: cannot connect")
	// ErrStream is returned when the stream or consumer cannot be found
	// or created.
	ErrStream = errors.New("natsjs: stream")
	// ErrMalformed is returned by the message parser for bytes that are
	// not a well-formed message.
	ErrMalformed = errors.New("natsjs: malformed message")
	// ErrClosed is returned by operations after Close.
	ErrClosed = errors.New("natsjs: closed")
)
