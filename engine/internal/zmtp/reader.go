package zmtp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ReadBufSize is the receive buffer of one connection: ZMTP headers and
// small parts are parsed from it, and a payload is copied from it into its
// frame (the one copy), or read straight into the frame once the buffer
// holds no more of it.
const ReadBufSize = 64 << 10

var ErrReservedFlags = errors.New("zmq: ZMTP frame with reserved flag bits set")

// Reader buffers a connection's byte stream.
type Reader struct {
	src  io.Reader
	buf  []byte
	r, w int
}

func NewReader(src io.Reader) *Reader {
	return &Reader{src: src, buf: make([]byte, ReadBufSize)}
}

// Next returns the next n bytes of the stream (n <= ReadBufSize), valid
// until the next call.
func (rd *Reader) Next(n int) ([]byte, error) {
	if n > len(rd.buf) {
		return nil, fmt.Errorf("zmq: %d-byte read exceeds the %d-byte buffer", n, len(rd.buf))
	}
	if err := rd.fill(n); err != nil {
		return nil, err
	}
	p := rd.buf[rd.r : rd.r+n]
	rd.r += n
	return p, nil
}

// fill makes at least n bytes available in buf[r:w].
func (rd *Reader) fill(n int) error {
	if rd.w-rd.r >= n {
		return nil
	}
	if rd.r == rd.w {
		rd.r, rd.w = 0, 0
	} else if len(rd.buf)-rd.r < n {
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
	}
	for rd.w-rd.r < n {
		m, err := rd.src.Read(rd.buf[rd.w:])
		rd.w += m
		if err != nil {
			if rd.w-rd.r >= n {
				return nil
			}
			if errors.Is(err, io.EOF) && rd.w > rd.r {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// Header reads one ZMTP frame header: its flags and body size.
func (rd *Reader) Header() (flags byte, size uint64, err error) {
	p, err := rd.Next(1)
	if err != nil {
		return 0, 0, err
	}
	flags = p[0]
	if flags&^FlagsKnown != 0 {
		return 0, 0, ErrReservedFlags
	}
	if flags&FlagLong == 0 {
		p, err = rd.Next(1)
		if err != nil {
			return 0, 0, Unexpected(err)
		}
		return flags, uint64(p[0]), nil
	}
	p, err = rd.Next(8)
	if err != nil {
		return 0, 0, Unexpected(err)
	}
	return flags, binary.BigEndian.Uint64(p), nil
}

// ReadInto fills dst from the stream: what the buffer holds first, the rest
// straight from the connection.
func (rd *Reader) ReadInto(dst []byte) error {
	n := copy(dst, rd.buf[rd.r:rd.w])
	rd.r += n
	if n == len(dst) {
		return nil
	}
	if len(dst)-n < len(rd.buf)/4 {
		// A short remainder: fill the buffer, which also picks up the
		// headers that follow, instead of a small read of its own.
		p, err := rd.Next(len(dst) - n)
		if err != nil {
			return Unexpected(err)
		}
		copy(dst[n:], p)
		return nil
	}
	_, err := io.ReadFull(rd.src, dst[n:])
	return Unexpected(err)
}

// Skip discards n bytes of the stream.
func (rd *Reader) Skip(n uint64) error {
	for n > 0 {
		if rd.r == rd.w {
			if err := rd.fill(1); err != nil {
				return Unexpected(err)
			}
		}
		k := min(n, uint64(rd.w-rd.r))
		rd.r += int(k)
		n -= k
	}
	return nil
}

// Unexpected turns an end of stream inside a frame into ErrUnexpectedEOF.
func Unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
