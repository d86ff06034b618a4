package fileio

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"udpstream.dev/engine"
)

// DefaultBufferSize is the staging buffer of a StreamWriter that was not
// given another size.
const DefaultBufferSize = 1 << 20

// StreamWriter stores frames in Rogue's data file format (Rogue's
// rogue.utilities.fileio.StreamWriter). It is itself a Slave: a frame it
// accepts is stored with its own channel, as through Rogue's channel
// object 0; Channel(n) gives the Slave that stores frames as channel n.
//
// Records are staged in a buffer of BufferSize bytes and written when it
// fills, on Flush, on Close and when a split file is full; a record larger
// than the buffer goes out in buffer-sized writes. Writing happens in the
// goroutine that delivers the frame; put an engine.Fifo in front to take
// the disk off a receive path.
//
// A failed or short write stops the writer: the error is counted, logged
// through the logger given to SetLogger, and returned by Flush and Close;
// the records staged when it happened and every later frame are counted in
// WriterStats.Failed until the next Open. The file may then end inside a
// record, which StreamReader reports at its offset.
//
// All methods may be called from several goroutines; one mutex covers a
// whole record, so records never interleave.
type StreamWriter struct {
	mu  sync.Mutex
	cfg writerConfig // settings for the next Open
	act writerConfig // settings of the open file set
	log *slog.Logger

	open           bool
	out            io.Writer // where staged bytes go
	file           *os.File  // the file out is, nil for OpenWriter
	name           string    // Open's name: the base of a split set
	index          int       // current file of a split set, from 1
	buf            []byte    // staged bytes, capacity act.bufSize
	segs           [][]byte  // scratch for a frame's buffers
	hdr            [HeaderSize]byte
	pending        struct{ records, bytes uint64 } // records with bytes in buf
	failed         error                           // the write error that stopped the writer
	first          error                           // first loss since Open, for Close
	warnedOversize bool                            // an oversize frame was logged since Open
	curSize        int64                           // bytes in the current file, staged included

	dropErrors atomic.Bool
	frameCount atomic.Uint64 // records since Open
	current    atomic.Int64  // CurrentSize
	total      atomic.Int64  // TotalSize
	stats      writerCounters
	channels   [256]atomic.Pointer[StreamWriterChannel]
}

type writerConfig struct {
	raw     bool
	maxSize int64
	bufSize int
}

type writerCounters struct {
	records, bytes, files             atomic.Uint64
	empty, errored, notOpen, oversize atomic.Uint64
	failed, writeErrors               atomic.Uint64
}

// WriterStats counts what a StreamWriter did with the frames it accepted
// since it was made. Every accepted frame is counted exactly once, in
// Records or in one of the reasons it was not stored.
type WriterStats struct {
	// Records counts frames stored as records (written, or staged for the
	// next write) and Bytes their size on disk, headers included.
	Records, Bytes uint64
	// Files counts the files opened, split files included.
	Files uint64
	// Empty counts frames without payload, which have no record (Rogue
	// skips them too).
	Empty uint64
	// Errored counts frames with a non-zero error, skipped under
	// SetDropErrors(true).
	Errored uint64
	// NotOpen counts frames that arrived while no file was open.
	NotOpen uint64
	// Oversize counts frames that cannot fit in one file under the size
	// limit (or in a record at all: MaxPayload).
	Oversize uint64
	// Failed counts frames lost to a write error: staged when it happened,
	// being written, or arriving after it.
	Failed uint64
	// WriteErrors counts write, open and close calls that failed.
	WriteErrors uint64
}

// Frames is the number of frames accepted: the sum of every counter but
// Bytes, Files and WriteErrors.
func (s WriterStats) Frames() uint64 {
	return s.Records + s.Empty + s.Errored + s.NotOpen + s.Oversize + s.Failed
}

// Lost is the number of frames accepted but not stored for a reason other
// than their being empty or dropped as errored on request.
func (s WriterStats) Lost() uint64 { return s.NotOpen + s.Oversize + s.Failed }

// NewStreamWriter returns a writer with no file open, framed mode, no size
// limit and a DefaultBufferSize buffer.
func NewStreamWriter() *StreamWriter {
	return &StreamWriter{cfg: writerConfig{bufSize: DefaultBufferSize}}
}

// StreamWriterChannel is the Slave that stores the frames it accepts as
// one channel of a StreamWriter (Rogue's StreamWriterChannel). Its
// FrameCount and ByteCount count every frame it accepted, stored or not.
type StreamWriterChannel struct {
	engine.BaseSlave
	w       *StreamWriter
	channel uint8
}

// AcceptFrame stores f, as channel Channel() or, for channel object 0, as
// f's own channel. It implements engine.Slave.
func (c *StreamWriterChannel) AcceptFrame(f engine.Frame) {
	c.Count(f)
	c.w.write(f, c.channel)
}

// Channel is the channel number this object stores frames under; 0 means
// each frame's own channel.
func (c *StreamWriterChannel) Channel() uint8 { return c.channel }

// Channel returns the Slave that stores frames as channel n, made on first
// use (Rogue's getChannel). For n = 0 each frame keeps its own channel;
// for any other n the frame's channel is ignored and n is stored.
func (w *StreamWriter) Channel(n uint8) *StreamWriterChannel {
	p := &w.channels[n]
	if c := p.Load(); c != nil {
		return c
	}
	p.CompareAndSwap(nil, &StreamWriterChannel{w: w, channel: n})
	return p.Load()
}

// AcceptFrame stores f with its own channel: Channel(0).AcceptFrame(f).
// It implements engine.Slave.
func (w *StreamWriter) AcceptFrame(f engine.Frame) { w.Channel(0).AcceptFrame(f) }

// SetLogger sets where write failures and oversize frames are reported;
// nil (the default) reports nothing beyond the counters and the errors
// that Flush and Close return.
func (w *StreamWriter) SetLogger(l *slog.Logger) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.log = l
}

// SetRaw selects raw mode (payloads only, no headers) for the next Open.
func (w *StreamWriter) SetRaw(raw bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cfg.raw = raw
}

// Raw reports the mode set for the next Open.
func (w *StreamWriter) Raw() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cfg.raw
}

// SetMaxSize sets the size limit in bytes of each file for the next Open:
// bytes > 0 splits the output into name.1, name.2, ... of at most that
// many bytes each; 0 (the default) writes one file of any size.
// Unlike Rogue, a running file set keeps its limit until the next Open.
func (w *StreamWriter) SetMaxSize(bytes int64) error {
	if bytes < 0 {
		return fmt.Errorf("fileio: negative size limit %d", bytes)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cfg.maxSize = bytes
	return nil
}

// MaxSize is the size limit set for the next Open.
func (w *StreamWriter) MaxSize() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cfg.maxSize
}

// SetBufferSize sets the staging buffer in bytes for the next Open;
// bytes <= 0 restores DefaultBufferSize. (Rogue's 0, one write call per
// header and per buffer, is not offered: staging gives the same bytes.)
func (w *StreamWriter) SetBufferSize(bytes int) {
	if bytes <= 0 {
		bytes = DefaultBufferSize
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cfg.bufSize = bytes
}

// BufferSize is the staging buffer size set for the next Open.
func (w *StreamWriter) BufferSize() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cfg.bufSize
}

// SetDropErrors makes the writer skip (and count in Errored) frames whose
// error is non-zero; by default they are stored with their error byte.
// It takes effect at once.
func (w *StreamWriter) SetDropErrors(drop bool) { w.dropErrors.Store(drop) }

// DropErrors reports whether errored frames are skipped.
func (w *StreamWriter) DropErrors() bool { return w.dropErrors.Load() }

// FrameCount is the number of records stored since the last Open.
func (w *StreamWriter) FrameCount() uint64 { return w.frameCount.Load() }

// CurrentSize is the size in bytes of the current file, staged bytes
// included.
func (w *StreamWriter) CurrentSize() int64 { return w.current.Load() }

// TotalSize is the size in bytes of every file since the last Open,
// staged bytes included.
func (w *StreamWriter) TotalSize() int64 { return w.total.Load() }

// IsOpen reports whether a file is open.
func (w *StreamWriter) IsOpen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.open
}

// Stats returns the counters. Each is read atomically, not all at the same
// instant.
func (w *StreamWriter) Stats() WriterStats {
	s := &w.stats
	return WriterStats{
		Records: s.records.Load(), Bytes: s.bytes.Load(), Files: s.files.Load(),
		Empty: s.empty.Load(), Errored: s.errored.Load(), NotOpen: s.notOpen.Load(),
		Oversize: s.oversize.Load(), Failed: s.failed.Load(), WriteErrors: s.writeErrors.Load(),
	}
}

// errOpenLimit is returned by OpenWriter under a size limit, which needs
// file names to split into.
var errOpenLimit = errors.New("fileio: a size limit needs Open with a file name")
