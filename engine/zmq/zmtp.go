package zmq

import (
	"io"
	"time"

	"udpstream.dev/engine/internal/zmtp"
)

// The ZMTP subset lives in engine/internal/zmtp, shared with the memory
// bridge; these names keep this package's code as it was.
const (
	greetingLen    = zmtp.GreetingLen
	flagMore       = zmtp.FlagMore
	flagLong       = zmtp.FlagLong
	flagCommand    = zmtp.FlagCommand
	maxCommandSize = zmtp.MaxCommandSize
)

var (
	errOldZMTP       = zmtp.ErrOldZMTP
	errBadCommand    = zmtp.ErrBadCommand
	errReservedFlags = zmtp.ErrReservedFlags
	greeting         = zmtp.Greeting
)

// reader is a connection's buffered ZMTP reader.
type reader struct{ *zmtp.Reader }

func newReader(src io.Reader) *reader { return &reader{zmtp.NewReader(src)} }

func (rd *reader) next(n int) ([]byte, error)                   { return rd.Next(n) }
func (rd *reader) header() (flags byte, size uint64, err error) { return rd.Header() }
func (rd *reader) readInto(dst []byte) error                    { return rd.ReadInto(dst) }
func (rd *reader) skip(n uint64) error                          { return rd.Skip(n) }

func putHeader(dst []byte, flags byte, size int) int { return zmtp.PutHeader(dst, flags, size) }
func unexpected(err error) error                     { return zmtp.Unexpected(err) }
func checkGreeting(g []byte) error                   { return zmtp.CheckGreeting(g) }
func readyCommand(socketType string) []byte          { return zmtp.ReadyCommand(socketType) }
func command(body []byte) (string, []byte, error)    { return zmtp.Command(body) }
func readyProperty(data []byte, prop string) (string, error) {
	return zmtp.ReadyProperty(data, prop)
}

func handshake(c zmtp.Deadliner, local, remote string, timeout time.Duration, rd *reader) error {
	return zmtp.Handshake(c, local, remote, timeout, rd.Reader)
}
