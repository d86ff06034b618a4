package fileio

import (
	"fmt"
	"io"
	"os"

	"udpstream.dev/engine"
)

// Open closes any open file, then creates name (name.1 under a size limit)
// with mode 0666 before umask, truncating a file that already exists, and
// resets FrameCount, CurrentSize and TotalSize. The settings made so far
// apply until the next Open. If closing the previous file reports an
// error, Open returns it and opens nothing; a second Open then proceeds.
func (w *StreamWriter) Open(name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.closeLocked(); err != nil {
		return fmt.Errorf("fileio: closing the previous file: %w", err)
	}
	w.start()
	w.name, w.index = name, 0
	path := name
	if w.act.maxSize > 0 {
		w.index = 1
		path = SplitName(name, 1)
	}
	if err := w.openFile(path); err != nil {
		w.stats.writeErrors.Add(1)
		return err
	}
	w.open = true
	return nil
}

// OpenWriter is Open for a destination that is not a named file: records
// go to dst, which Close does not close. It fails under a size limit,
// which needs names for the files it splits into.
func (w *StreamWriter) OpenWriter(dst io.Writer) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cfg.maxSize > 0 {
		return errOpenLimit
	}
	if err := w.closeLocked(); err != nil {
		return fmt.Errorf("fileio: closing the previous file: %w", err)
	}
	w.start()
	w.name, w.index = "", 0
	w.out, w.open = dst, true
	return nil
}

// start applies the settings and resets what counts since Open.
func (w *StreamWriter) start() {
	w.act = w.cfg
	if cap(w.buf) != w.act.bufSize {
		w.buf = make([]byte, 0, w.act.bufSize)
	}
	w.buf = w.buf[:0]
	w.pending.records, w.pending.bytes = 0, 0
	w.failed, w.first, w.warnedOversize = nil, nil, false
	w.curSize = 0
	w.frameCount.Store(0)
	w.current.Store(0)
	w.total.Store(0)
}

func (w *StreamWriter) openFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return fmt.Errorf("fileio: %w", err)
	}
	w.file, w.out = f, f
	w.stats.files.Add(1)
	w.curSize = 0
	w.current.Store(0)
	return nil
}

// Flush writes the staged records out. It returns ErrNotOpen with no file
// open, and the write error if the writer has failed.
func (w *StreamWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.open {
		return ErrNotOpen
	}
	if w.failed != nil {
		return w.failed
	}
	if err := w.flush(); err != nil {
		w.fail(err)
		return err
	}
	return nil
}

// Close flushes the staged records and closes the file. It returns the
// first error since Open through which a frame was lost: a failed write,
// open or close, or a frame too large for the size limit. With no file
// open it returns nil.
func (w *StreamWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closeLocked()
}

func (w *StreamWriter) closeLocked() error {
	if !w.open {
		return nil
	}
	if w.failed == nil {
		if err := w.flush(); err != nil {
			w.fail(err)
		}
	}
	if w.file != nil {
		if err := w.file.Close(); err != nil {
			w.stats.writeErrors.Add(1)
			w.note(fmt.Errorf("fileio: %w", err))
			w.logError("closing the file failed", err, 0)
		}
	}
	err := w.first
	w.open, w.out, w.file = false, nil, nil
	w.failed, w.first = nil, nil
	return err
}

// write is the path of every accepted frame; channel 0 keeps the frame's
// own channel.
func (w *StreamWriter) write(f engine.Frame, channel uint8) {
	n := f.Payload()
	if n == 0 {
		w.stats.empty.Add(1)
		return
	}
	if f.Error() != 0 && w.dropErrors.Load() {
		w.stats.errored.Add(1)
		return
	}
	if channel == 0 {
		channel = f.Channel()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case !w.open:
		w.stats.notOpen.Add(1)
	case w.failed != nil:
		w.stats.failed.Add(1)
	default:
		w.store(f, n, channel)
	}
}

// store adds one record of n payload bytes, starting the next file of a
// split set first if the record would not fit in the current one.
func (w *StreamWriter) store(f engine.Frame, n int, channel uint8) {
	size := int64(n)
	if !w.act.raw {
		size += HeaderSize
	}
	limit := w.act.maxSize
	if n > MaxPayload || (limit > 0 && size > limit) {
		w.refuse(size, n)
		return
	}
	if limit > 0 && w.curSize+size > limit {
		if err := w.rollover(); err != nil {
			w.stats.failed.Add(1)
			w.fail(err)
			return
		}
	}
	if err := w.stage(f, n, channel); err != nil {
		w.stats.failed.Add(1)
		w.fail(err)
		return
	}
	w.curSize += size
	w.current.Store(w.curSize)
	w.total.Add(size)
	w.frameCount.Add(1)
	w.stats.records.Add(1)
	w.stats.bytes.Add(uint64(size))
	if len(w.buf) > 0 {
		w.pending.records++
		w.pending.bytes += uint64(size)
	}
}

// stage copies the record's header and payload into the buffer, writing
// it out whenever it fills.
func (w *StreamWriter) stage(f engine.Frame, n int, channel uint8) error {
	if !w.act.raw {
		h := Header{Payload: uint32(n), Channel: channel, Error: f.Error(), Flags: f.Flags()}
		h.Put(&w.hdr)
		if err := w.put(w.hdr[:]); err != nil {
			return err
		}
	}
	segs, err := f.AppendBuffers(w.segs[:0])
	defer func() {
		clear(segs) // keep no reference to pool memory
		w.segs = segs[:0]
	}()
	if err != nil {
		return err
	}
	for _, s := range segs {
		if err := w.put(s); err != nil {
			return err
		}
	}
	return nil
}

// put stages p; a piece at least as large as the whole buffer, met with
// the buffer empty, is written straight from the frame.
func (w *StreamWriter) put(p []byte) error {
	for len(p) > 0 {
		if len(w.buf) == 0 && len(p) >= cap(w.buf) {
			return w.writeOut(p)
		}
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+c]
		p = p[c:]
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the buffer out; on success no record is pending.
func (w *StreamWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.writeOut(w.buf)
	w.buf = w.buf[:0]
	if err == nil {
		w.pending.records, w.pending.bytes = 0, 0
	}
	return err
}

func (w *StreamWriter) writeOut(p []byte) error {
	n, err := w.out.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fmt.Errorf("fileio: write failed: %w", err)
	}
	return nil
}

// rollover closes the full file of a split set and opens the next.
func (w *StreamWriter) rollover() error {
	if err := w.flush(); err != nil {
		return err
	}
	err := w.file.Close()
	w.file, w.out = nil, nil
	if err != nil {
		return fmt.Errorf("fileio: %w", err)
	}
	w.index++
	return w.openFile(SplitName(w.name, w.index))
}

// fail stops the writer after err: the records still staged are lost and
// move from Records to Failed, and every later frame is counted in Failed
// until the next Open.
func (w *StreamWriter) fail(err error) {
	w.failed = err
	w.note(err)
	w.stats.writeErrors.Add(1)
	lost := w.pending
	w.pending.records, w.pending.bytes = 0, 0
	w.buf = w.buf[:0]
	w.stats.records.Add(-lost.records)
	w.stats.bytes.Add(-lost.bytes)
	w.stats.failed.Add(lost.records)
	w.frameCount.Add(-lost.records)
	w.current.Add(-int64(lost.bytes))
	w.total.Add(-int64(lost.bytes))
	w.logError("write failed; frames are dropped until the next Open", err, lost.records)
}

// refuse counts a frame too large for a file, keeping the first such
// error for Close and logging it once per Open.
func (w *StreamWriter) refuse(size int64, n int) {
	w.stats.oversize.Add(1)
	if w.warnedOversize {
		return
	}
	w.warnedOversize = true
	err := fmt.Errorf("%w: a %d-byte record, limit %d", ErrOversize, size, w.act.maxSize)
	if w.act.maxSize == 0 {
		err = fmt.Errorf("%w: a %d-byte payload, records hold at most %d", ErrOversize, n, MaxPayload)
	}
	w.note(err)
	if w.log != nil {
		w.log.Error("fileio: frame not stored", "file", w.path(), "error", err)
	}
}

// note keeps err if it is the first loss since Open.
func (w *StreamWriter) note(err error) {
	if w.first == nil {
		w.first = err
	}
}

func (w *StreamWriter) logError(msg string, err error, lost uint64) {
	if w.log != nil {
		w.log.Error("fileio: "+msg, "file", w.path(), "error", err, "lost_records", lost)
	}
}

// path names the current file for log lines.
func (w *StreamWriter) path() string {
	switch {
	case w.name == "":
		return "(writer)"
	case w.index > 0:
		return SplitName(w.name, w.index)
	}
	return w.name
}
