package fileio

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"udpstream.dev/engine"
)

// readBufferSize is the read-ahead of a StreamReader.
const readBufferSize = 1 << 20

// StreamReader replays a data file as frames (Rogue's
// rogue.utilities.fileio.StreamReader): Open starts a goroutine that sends
// one frame per record to the slaves, as fast as they take them, with the
// record's channel, flags and error. Each frame is requested from the
// primary slave's pool (engine.Master.ReqFrame) and the payload is read
// straight into its buffers.
//
// A name ending in ".1" is the first file of a split set: reading goes on
// with ".2", ".3", ... until the next file does not exist. A header-only
// record (no payload) is skipped and counted, as Rogue skips it. Reading
// stops at the first damaged record with a *FormatError naming its byte
// offset; every frame before it has been delivered, and no partial frame
// is.
type StreamReader struct {
	engine.Master

	mu      sync.Mutex
	rawSize int
	run     *readRun

	frames, bytes, files, empty atomic.Uint64
}

// readRun is one Open's goroutine.
type readRun struct {
	stop atomic.Bool
	done chan struct{}
	err  error // set before done closes
}

// ReaderStats counts what a StreamReader read since its last Open.
type ReaderStats struct {
	Frames uint64 // frames delivered
	Bytes  uint64 // their payload bytes
	Files  uint64 // files opened
	Empty  uint64 // header-only records skipped
}

// NewStreamReader returns a reader with no file open.
func NewStreamReader() *StreamReader { return &StreamReader{} }

// SetRawFrameSize makes the next Open read a raw file (payloads only, as
// written by a StreamWriter in raw mode, which keeps no frame boundaries)
// as frames of n bytes each, the last one possibly shorter. n = 0 (the
// default) reads framed records. Rogue's reader has no raw mode.
func (r *StreamReader) SetRawFrameSize(n int) error {
	if n < 0 {
		return fmt.Errorf("fileio: negative raw frame size %d", n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rawSize = n
	return nil
}

// Open stops any reading in progress, opens name and starts delivering
// its records. Errors opening name are returned here; errors later in the
// file, by CloseWait and Close.
func (r *StreamReader) Open(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.run != nil {
		r.run.stop.Store(true)
		<-r.run.done
		r.run = nil
	}
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("fileio: %w", err)
	}
	r.frames.Store(0)
	r.bytes.Store(0)
	r.files.Store(0)
	r.empty.Store(0)
	run := &readRun{done: make(chan struct{})}
	r.run = run
	go r.read(run, f, name, r.rawSize)
	return nil
}

// CloseWait waits until every record has been delivered, or reading
// stopped at an error, and returns that error.
func (r *StreamReader) CloseWait() error {
	r.mu.Lock()
	run := r.run
	r.mu.Unlock()
	if run == nil {
		return nil
	}
	<-run.done
	return run.err
}

// Close stops reading after the record being delivered and waits for the
// goroutine to end. It returns the error reading met before it stopped,
// if any. It does not close the embedded Master: the reader may be opened
// again.
func (r *StreamReader) Close() error {
	r.mu.Lock()
	run := r.run
	r.mu.Unlock()
	if run == nil {
		return nil
	}
	run.stop.Store(true)
	<-run.done
	return run.err
}

// Stats returns the counters of the current or last Open.
func (r *StreamReader) Stats() ReaderStats {
	return ReaderStats{Frames: r.frames.Load(), Bytes: r.bytes.Load(), Files: r.files.Load(), Empty: r.empty.Load()}
}

// read runs one Open: the named file and, for a name ending in ".1", the
// rest of its split set.
func (r *StreamReader) read(run *readRun, f *os.File, name string, raw int) {
	defer close(run.done)
	base, index := "", 0
	if b, ok := strings.CutSuffix(name, ".1"); ok {
		base, index = b, 1
	}
	s := &fileScan{br: bufio.NewReaderSize(f, readBufferSize)}
	for {
		r.files.Add(1)
		s.reset(f, name)
		err := r.readFile(run, s, raw)
		f.Close()
		if err != nil || run.stop.Load() || index == 0 {
			run.err = err
			return
		}
		index++
		name = SplitName(base, index)
		f, err = os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err != nil {
			run.err = fmt.Errorf("fileio: %w", err)
			return
		}
	}
}

// fileScan is the position in one file.
type fileScan struct {
	br   *bufio.Reader
	name string
	size int64 // bytes in the file, -1 when not a regular file
	off  int64 // offset of the next record
	rec  int   // index of the next record
	hdr  [HeaderSize]byte
	segs [][]byte
}

func (s *fileScan) reset(f *os.File, name string) {
	s.br.Reset(f)
	s.name, s.size, s.off, s.rec = name, -1, 0, 0
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		s.size = st.Size()
	}
}

// advance moves past a record of n payload bytes plus header bytes.
func (s *fileScan) advance(header, n int) {
	s.off += int64(header + n)
	s.rec++
}

// damaged reports the record at the current offset as cut or corrupt.
func (s *fileScan) damaged(kind error, format string, args ...any) error {
	return &FormatError{File: s.name, Offset: s.off, Record: s.rec, Reason: fmt.Sprintf(format, args...), Err: kind}
}

// ioError wraps a read error with the position it happened at.
func (s *fileScan) ioError(err error) error {
	return fmt.Errorf("fileio: %s: record %d at byte %d: %w", s.name, s.rec, s.off, err)
}
