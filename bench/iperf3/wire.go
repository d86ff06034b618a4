package iperf3

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// State is a control-connection state byte.
type State int8

// The state bytes of iperf3's control protocol (the same in every release).
const (
	TestStart       State = 1
	TestRunning     State = 2
	TestEnd         State = 4
	ParamExchange   State = 9
	CreateStreams   State = 10
	ServerTerminate State = 11
	ClientTerminate State = 12
	ExchangeResults State = 13
	DisplayResults  State = 14
	IperfDone       State = 16
	AccessDenied    State = -1
	ServerError     State = -2
)

// String names the state as iperf3's source does.
func (s State) String() string {
	switch s {
	case TestStart:
		return "TEST_START"
	case TestRunning:
		return "TEST_RUNNING"
	case TestEnd:
		return "TEST_END"
	case ParamExchange:
		return "PARAM_EXCHANGE"
	case CreateStreams:
		return "CREATE_STREAMS"
	case ServerTerminate:
		return "SERVER_TERMINATE"
	case ClientTerminate:
		return "CLIENT_TERMINATE"
	case ExchangeResults:
		return "EXCHANGE_RESULTS"
	case DisplayResults:
		return "DISPLAY_RESULTS"
	case IperfDone:
		return "IPERF_DONE"
	case AccessDenied:
		return "ACCESS_DENIED"
	case ServerError:
		return "SERVER_ERROR"
	}
	return fmt.Sprintf("state(%d)", int8(s))
}

// Protocol limits.
const (
	// CookieLen is the cookie's length on the wire: 36 characters and a NUL.
	CookieLen = 37
	// MaxParamsLen is the largest parameter JSON a server reads (iperf3
	// 3.18 and later cap it at the same 8 KiB).
	MaxParamsLen = 8192
	// MaxResultsLen is the largest results JSON either side reads; a
	// server's JSON output passed back with --get-server-output makes it
	// larger than the parameters.
	MaxResultsLen = 4 << 20
)

// Sentinel errors; the typed errors below match them with errors.Is.
var (
	// ErrProtocol: the peer sent something the protocol does not allow.
	ErrProtocol = errors.New("iperf3: protocol error")
	// ErrTooLarge: a length prefix beyond the limit.
	ErrTooLarge = errors.New("iperf3: message too large")
	// ErrBusy: the server answered ACCESS_DENIED.
	ErrBusy = errors.New("iperf3: the server is busy running a test")
	// ErrServer: the server answered SERVER_ERROR or SERVER_TERMINATE.
	ErrServer = errors.New("iperf3: server error")
)

// ProtocolError says what was wrong; it matches ErrProtocol.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string        { return "iperf3: protocol error: " + e.Msg }
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

func protoErr(format string, a ...any) error { return &ProtocolError{Msg: fmt.Sprintf(format, a...)} }

// cookieAlphabet is the 32 characters iperf3 draws its cookie from.
const cookieAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// NewCookie returns a fresh random cookie as it goes on the wire.
func NewCookie() [CookieLen]byte {
	var c [CookieLen]byte
	_, _ = rand.Read(c[:CookieLen-1]) // crypto/rand never fails on Linux
	for i := 0; i < CookieLen-1; i++ {
		c[i] = cookieAlphabet[c[i]%32]
	}
	c[CookieLen-1] = 0
	return c
}

// ValidCookie reports whether b is a cookie as iperf3 makes them.
func ValidCookie(b []byte) bool {
	if len(b) != CookieLen || b[CookieLen-1] != 0 {
		return false
	}
	for _, ch := range b[:CookieLen-1] {
		if !(ch >= 'a' && ch <= 'z' || ch >= '2' && ch <= '7') {
			return false
		}
	}
	return true
}

// WriteState writes one state byte.
func WriteState(w io.Writer, s State) error {
	_, err := w.Write([]byte{byte(s)})
	return err
}

// ReadState reads one state byte.
func ReadState(r io.Reader) (State, error) {
	var b [1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return State(int8(b[0])), nil
}

// WriteServerError writes SERVER_ERROR with iperf3's error number and errno.
func WriteServerError(w io.Writer, ierrno, errno int32) error {
	var b [9]byte
	b[0] = 0xfe // SERVER_ERROR
	binary.BigEndian.PutUint32(b[1:], uint32(ierrno))
	binary.BigEndian.PutUint32(b[5:], uint32(errno))
	_, err := w.Write(b[:])
	return err
}

// ServerErrorCode is the payload of SERVER_ERROR; it matches ErrServer.
type ServerErrorCode struct {
	IErrno, Errno int32
}

func (e *ServerErrorCode) Error() string {
	return fmt.Sprintf("iperf3: server error %d (%s), errno %d", e.IErrno, ierrnoText(e.IErrno), e.Errno)
}
func (e *ServerErrorCode) Is(target error) bool { return target == ErrServer }

// iperf3's error numbers that udpperf sends or names.
const (
	IEUnimplemented int32 = 13  // "an option you are trying to set is not implemented yet"
	IEProtocol      int32 = 131 // "protocol does not exist"
	IEStreamListen  int32 = 200 // "unable to start stream listener"
)

func ierrnoText(n int32) string {
	switch n {
	case IEUnimplemented:
		return "an option you are trying to set is not implemented yet"
	case IEProtocol:
		return "protocol does not exist"
	case IEStreamListen:
		return "unable to start stream listener"
	}
	return "unknown"
}

// ReadServerError reads the 8 bytes after a SERVER_ERROR byte.
func ReadServerError(r io.Reader) (*ServerErrorCode, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return nil, err
	}
	return &ServerErrorCode{
		IErrno: int32(binary.BigEndian.Uint32(b[:4])),
		Errno:  int32(binary.BigEndian.Uint32(b[4:])),
	}, nil
}

// WriteJSON writes v as unformatted JSON behind its 32-bit big-endian length.
func WriteJSON(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	msg := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(msg, uint32(len(body)))
	copy(msg[4:], body)
	_, err = w.Write(msg)
	return err
}

// ReadJSONBytes reads one length-prefixed JSON message of at most max bytes
// and returns its body unparsed. A longer prefix fails with ErrTooLarge
// before anything more is read.
func ReadJSONBytes(r io.Reader, max int) ([]byte, error) {
	var p [4]byte
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(p[:])
	if uint64(n) > uint64(max) {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, n, max)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	return body, nil
}
