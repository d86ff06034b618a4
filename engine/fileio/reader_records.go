package fileio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"udpstream.dev/engine"
)

// readFile delivers the records of one file.
func (r *StreamReader) readFile(run *readRun, s *fileScan, raw int) error {
	if raw > 0 {
		return r.readRaw(run, s, raw)
	}
	for !run.stop.Load() {
		h, ok, err := s.header()
		if err != nil || !ok {
			return err
		}
		if h.Payload == 0 {
			r.empty.Add(1)
			s.advance(HeaderSize, 0)
			continue
		}
		if err := r.deliver(s, h); err != nil {
			return err
		}
	}
	return nil
}

// header reads the next record header; ok is false at a clean end of
// file. A header whose record runs past the end of a regular file is
// reported before any pool memory is requested for it.
func (s *fileScan) header() (h Header, ok bool, err error) {
	n, err := io.ReadFull(s.br, s.hdr[:])
	switch {
	case n == 0 && err == io.EOF:
		return h, false, nil
	case err == io.ErrUnexpectedEOF:
		return h, false, s.damaged(ErrTruncated, "the file ends %d bytes into the %d-byte record header", n, HeaderSize)
	case err != nil:
		return h, false, s.ioError(err)
	}
	h, err = ParseHeader(&s.hdr)
	if err != nil {
		return h, false, s.damaged(ErrCorrupt, "corrupt header: size word %d is below 4", binary.LittleEndian.Uint32(s.hdr[:4]))
	}
	if s.size >= 0 {
		if left := s.size - s.off - HeaderSize; int64(h.Payload) > left {
			return h, false, s.damaged(ErrTruncated, "the record holds %d payload bytes but the file has %d more", h.Payload, left)
		}
	}
	return h, true, nil
}

// deliver reads one record's payload into a frame and sends it.
func (r *StreamReader) deliver(s *fileScan, h Header) error {
	n := int(h.Payload)
	f, err := r.ReqFrame(n, true)
	if err != nil {
		return s.ioError(fmt.Errorf("requesting a %d-byte frame: %w", n, err))
	}
	defer f.Release()
	got, err := s.fill(f, n)
	if err != nil {
		return err
	}
	if got < n {
		return s.damaged(ErrTruncated, "the file ends %d bytes into a %d-byte payload", got, n)
	}
	f.SetChannel(h.Channel)
	f.SetError(h.Error)
	f.SetFlags(h.Flags)
	if err := r.SendFrame(f); err != nil {
		return s.ioError(err)
	}
	r.frames.Add(1)
	r.bytes.Add(uint64(n))
	s.advance(HeaderSize, n)
	return nil
}

// fill sets f's payload to n bytes and reads them from the file into its
// buffers. got < n means the file ended first; other read errors are
// returned.
func (s *fileScan) fill(f engine.Frame, n int) (got int, err error) {
	if err := f.SetPayload(n); err != nil {
		return 0, s.ioError(err)
	}
	segs, err := f.AppendBuffers(s.segs[:0])
	defer func() {
		clear(segs) // keep no reference to pool memory
		s.segs = segs[:0]
	}()
	if err != nil {
		return 0, s.ioError(err)
	}
	for _, b := range segs {
		m, err := io.ReadFull(s.br, b)
		got += m
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return got, nil
		}
		if err != nil {
			return got, s.ioError(err)
		}
	}
	return got, nil
}

// readRaw delivers a raw file as frames of size bytes, the last one
// possibly shorter.
func (r *StreamReader) readRaw(run *readRun, s *fileScan, size int) error {
	for !run.stop.Load() {
		n := size
		if s.size >= 0 {
			n = int(min(int64(size), s.size-s.off))
		}
		if n == 0 {
			return nil
		}
		done, err := r.rawFrame(s, n)
		if err != nil || done {
			return err
		}
	}
	return nil
}

// rawFrame reads and sends one raw frame of up to n bytes; done reports
// the end of the file.
func (r *StreamReader) rawFrame(s *fileScan, n int) (done bool, err error) {
	f, err := r.ReqFrame(n, true)
	if err != nil {
		return true, s.ioError(fmt.Errorf("requesting a %d-byte frame: %w", n, err))
	}
	defer f.Release()
	got, err := s.fill(f, n)
	if err != nil || got == 0 {
		return true, err
	}
	if got < n {
		if err := f.SetPayload(got); err != nil {
			return true, s.ioError(err)
		}
	}
	if err := r.SendFrame(f); err != nil {
		return true, s.ioError(err)
	}
	r.frames.Add(1)
	r.bytes.Add(uint64(got))
	s.advance(0, got)
	return got < n, nil
}
