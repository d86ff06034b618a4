package tcpbridge

import (
	"encoding/binary"
	"errors"
	"fmt"

	"udpstream.dev/engine/internal/zmtp"
	"udpstream.dev/engine/memory"
)

// Errors of message parsing and of the client's checks.
var (
	// ErrMalformed: a message of the wrong shape (part count or sizes).
	ErrMalformed = errors.New("tcpbridge: malformed message")
	// ErrMismatch: a response that does not echo its request.
	ErrMismatch = errors.New("tcpbridge: response does not match the request")
	// ErrRemote: the server's memory failed the transaction; the text is
	// the server's.
	ErrRemote = errors.New("tcpbridge: remote transaction failed")
	// ErrNoPeer: the client has no connection to a server.
	ErrNoPeer = errors.New("tcpbridge: no connected server")
)

// MaxResult is the longest result text the client accepts (Rogue's 999).
const MaxResult = 999

// resultOK is the result of a successful transaction.
const resultOK = "OK"

var okResult = []byte(resultOK)

// Request is one request message: parts id (u32), address (u64), size
// (u32), type (u32), all little-endian, and for Write and Post a fifth
// part with the data.
type Request struct {
	ID      uint32
	Address uint64
	Size    uint32
	Type    memory.Type
	Data    []byte // the fifth part, or nil
}

// ParseRequest checks a request's parts as Rogue's TcpServer does: 4 or 5
// parts of 4, 8, 4 and 4 bytes, and for Write and Post a data part of
// exactly size bytes. Data aliases the last part.
func ParseRequest(parts [][]byte) (Request, error) {
	if len(parts) != 4 && len(parts) != 5 {
		return Request{}, fmt.Errorf("%w: %d parts, want 4 or 5", ErrMalformed, len(parts))
	}
	if len(parts[0]) != 4 || len(parts[1]) != 8 || len(parts[2]) != 4 || len(parts[3]) != 4 {
		return Request{}, fmt.Errorf("%w: header parts of %d, %d, %d, %d bytes, want 4, 8, 4, 4",
			ErrMalformed, len(parts[0]), len(parts[1]), len(parts[2]), len(parts[3]))
	}
	le := binary.LittleEndian
	r := Request{ID: le.Uint32(parts[0]), Address: le.Uint64(parts[1]), Size: le.Uint32(parts[2]), Type: memory.Type(le.Uint32(parts[3]))}
	if len(parts) == 5 {
		r.Data = parts[4]
	}
	if r.Type.Writes() && (r.Data == nil || uint64(len(r.Data)) != uint64(r.Size)) {
		return r, fmt.Errorf("%w: write of %d bytes with %d data bytes", ErrMalformed, r.Size, len(r.Data))
	}
	return r, nil
}

// Response is one response message: id, address, size and type echoed,
// the data, and the result ("OK" or the error text).
type Response struct {
	ID      uint32
	Address uint64
	Size    uint32
	Type    memory.Type
	Data    []byte
	Result  []byte
}

// ParseResponse checks a response's shape: 6 parts, the first four of 4,
// 8, 4 and 4 bytes, a result of at most MaxResult bytes. Data and Result
// alias the parts.
func ParseResponse(parts [][]byte) (Response, error) {
	if len(parts) != 6 {
		return Response{}, fmt.Errorf("%w: %d parts, want 6", ErrMalformed, len(parts))
	}
	if len(parts[0]) != 4 || len(parts[1]) != 8 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[5]) > MaxResult {
		return Response{}, fmt.Errorf("%w: parts of %d, %d, %d, %d, _, %d bytes", ErrMalformed,
			len(parts[0]), len(parts[1]), len(parts[2]), len(parts[3]), len(parts[5]))
	}
	le := binary.LittleEndian
	return Response{ID: le.Uint32(parts[0]), Address: le.Uint64(parts[1]), Size: le.Uint32(parts[2]),
		Type: memory.Type(le.Uint32(parts[3])), Data: parts[4], Result: parts[5]}, nil
}

// header4 lays out the four header parts in h and returns them.
func header4(h *[20]byte, id uint32, addr uint64, size uint32, typ memory.Type) [4][]byte {
	le := binary.LittleEndian
	le.PutUint32(h[0:], id)
	le.PutUint64(h[4:], addr)
	le.PutUint32(h[12:], size)
	le.PutUint32(h[16:], uint32(typ))
	return [4][]byte{h[0:4], h[4:12], h[12:16], h[16:20]}
}

// appendMessage appends parts as one ZMTP multipart message.
func appendMessage(dst []byte, parts ...[]byte) []byte {
	var hdr [9]byte
	for i, p := range parts {
		var flags byte
		if i < len(parts)-1 {
			flags = zmtp.FlagMore
		}
		dst = append(dst, hdr[:zmtp.PutHeader(hdr[:], flags, len(p))]...)
		dst = append(dst, p...)
	}
	return dst
}
