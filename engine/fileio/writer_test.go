package fileio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"udpstream.dev/engine"
)

// TestHeaderLayout checks the bytes of one record against the format:
// size word, then firstUser, lastUser, error, channel.
func TestHeaderLayout(t *testing.T) {
	var buf bytes.Buffer
	w := NewStreamWriter()
	if err := w.OpenWriter(&buf); err != nil {
		t.Fatal(err)
	}
	f := newFrame(t, nil, []byte{0xaa, 0xbb, 0xcc}, 0xfe, 0x12, 0x3456)
	w.AcceptFrame(f)
	f.Release()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []byte{7, 0, 0, 0, 0x56, 0x34, 0x12, 0xfe, 0xaa, 0xbb, 0xcc}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("record % x, want % x", buf.Bytes(), want)
	}
	h, err := ParseHeader((*[HeaderSize]byte)(want))
	if err != nil || h != (Header{Payload: 3, Channel: 0xfe, Error: 0x12, Flags: 0x3456}) {
		t.Fatalf("ParseHeader: %+v, %v", h, err)
	}
}

// TestRoundTripMetadata writes frames of every size from 1 to 9000 bytes,
// single- and multi-buffer, with channels across the 8 bits, errors and
// flags, and reads them back.
func TestRoundTripMetadata(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	split, err := engine.NewFixedPool(1000, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []got
	for i, size := range []int{1, 2, 7, 8, 999, 1000, 1001, 1472, 4096, 8972, 9000} {
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		ch := []uint8{0, 1, 0x7f, 0x80, 0xfe, 0xff}[i%6]
		want = append(want, got{channel: ch, errCode: uint8(i * 37), flags: uint16(rng.Uint32()), data: data})
	}
	path := filepath.Join(t.TempDir(), "meta.dat")
	w := NewStreamWriter()
	w.SetBufferSize(3000)
	if err := w.Open(path); err != nil {
		t.Fatal(err)
	}
	for i, g := range want {
		p := (*engine.Pool)(nil)
		if i%2 == 1 {
			p = split // several buffers per frame
		}
		f := newFrame(t, p, g.data, g.channel, g.errCode, g.flags)
		w.AcceptFrame(f)
		f.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Read back into single-buffer frames and into 1000-byte buffers.
	for _, pool := range []*engine.Pool{nil, split} {
		c := &collector{pool: pool}
		var slave engine.Slave = c
		if pool != nil {
			slave = poolSlave{c}
		}
		frames, err := readAll(t, path, 0, slave, c)
		if err != nil {
			t.Fatal(err)
		}
		checkFrames(t, frames, want)
		if pool != nil && frames[len(frames)-1].buffers != 9 {
			t.Errorf("9000-byte frame read into %d buffers, want 9", frames[len(frames)-1].buffers)
		}
	}
}

func checkFrames(t *testing.T, frames, want []got) {
	t.Helper()
	if len(frames) != len(want) {
		t.Fatalf("%d frames, want %d", len(frames), len(want))
	}
	for i := range want {
		g, w := frames[i], want[i]
		if g.channel != w.channel || g.errCode != w.errCode || g.flags != w.flags || !bytes.Equal(g.data, w.data) {
			t.Errorf("frame %d: channel %d error %d flags %#x, %d bytes; want %d %d %#x, %d bytes",
				i, g.channel, g.errCode, g.flags, len(g.data), w.channel, w.errCode, w.flags, len(w.data))
		}
	}
}

// TestChannelObjects: channel object 0 keeps the frame's channel, any
// other stores its own number; each counts what it accepted.
func TestChannelObjects(t *testing.T) {
	var buf bytes.Buffer
	w := NewStreamWriter()
	if err := w.OpenWriter(&buf); err != nil {
		t.Fatal(err)
	}
	if w.Channel(0) != w.Channel(0) || w.Channel(5).Channel() != 5 {
		t.Fatal("Channel(n) is not one object per n")
	}
	f := newFrame(t, nil, []byte{1, 2, 3}, 9, 0, 0)
	defer f.Release()
	w.Channel(0).AcceptFrame(f)
	w.Channel(1).AcceptFrame(f)
	w.Channel(0xff).AcceptFrame(f)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var chans []byte
	for b := buf.Bytes(); len(b) > 0; b = b[HeaderSize+3:] {
		chans = append(chans, b[7])
	}
	if !bytes.Equal(chans, []byte{9, 1, 0xff}) {
		t.Fatalf("stored channels %v, want [9 1 255]", chans)
	}
	if n := w.Channel(1).FrameCount(); n != 1 {
		t.Fatalf("channel 1 counted %d frames", n)
	}
}

// TestSkippedFrames: empty frames, errored frames under SetDropErrors and
// frames with no file open are not stored, and each is counted.
func TestSkippedFrames(t *testing.T) {
	w := NewStreamWriter()
	data := newFrame(t, nil, []byte{1, 2, 3, 4}, 0, 0, 0)
	defer data.Release()
	bad := newFrame(t, nil, []byte{5, 6}, 0, 3, 0)
	defer bad.Release()
	empty := newFrame(t, nil, nil, 0, 0, 0)
	defer empty.Release()

	w.AcceptFrame(data) // not open
	var buf bytes.Buffer
	if err := w.OpenWriter(&buf); err != nil {
		t.Fatal(err)
	}
	w.AcceptFrame(empty)
	w.AcceptFrame(bad) // stored: errors are kept by default
	w.SetDropErrors(true)
	w.AcceptFrame(bad)
	w.AcceptFrame(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s := w.Stats()
	want := WriterStats{Records: 2, Bytes: 2*HeaderSize + 6, Empty: 1, Errored: 1, NotOpen: 1}
	if s != want || s.Frames() != 5 {
		t.Fatalf("stats %+v, want %+v", s, want)
	}
	if buf.Len() != int(want.Bytes) || buf.Bytes()[6] != 3 {
		t.Fatalf("file % x", buf.Bytes())
	}
	if n := w.Channel(0).FrameCount(); n != 5 {
		t.Fatalf("channel 0 counted %d frames, want 5", n)
	}
}

// TestSplitFiles: under a limit of 8880 bytes, 1480-byte records fill
// each file with exactly 6; the files are name.1, name.2, ...; the reader
// given name.1 reads the whole set; a frame larger than the limit is
// counted and reported by Close.
func TestSplitFiles(t *testing.T) {
	frames, err := readFrames(t, vectorPath(t, "a.dat"), 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	base := filepath.Join(dir, "run.dat")
	w := NewStreamWriter()
	if err := w.SetMaxSize(8880); err != nil {
		t.Fatal(err)
	}
	if err := w.Open(base); err != nil {
		t.Fatal(err)
	}
	writeGot(t, w, frames[:20])
	big := newFrame(t, nil, make([]byte, 8873), 0, 0, 0)
	w.AcceptFrame(big)
	big.Release()
	writeGot(t, w, frames[20:])
	if w.TotalSize() != 74000 || w.CurrentSize() != 2*1480 {
		t.Fatalf("total %d, current %d", w.TotalSize(), w.CurrentSize())
	}
	if err := w.Close(); !errors.Is(err, ErrOversize) {
		t.Fatalf("Close: %v, want ErrOversize", err)
	}
	if s := w.Stats(); s.Oversize != 1 || s.Records != 50 || s.Files != 9 {
		t.Fatalf("stats %+v", s)
	}
	var joined []byte
	for i := 1; i <= 9; i++ {
		b, err := os.ReadFile(SplitName(base, i))
		if err != nil {
			t.Fatal(err)
		}
		if want := min(6, 50-6*(i-1)) * 1480; len(b) != want {
			t.Fatalf("file %d: %d bytes, want %d", i, len(b), want)
		}
		joined = append(joined, b...)
	}
	if _, err := os.Stat(SplitName(base, 10)); err == nil {
		t.Fatal("a tenth file was written")
	}
	if !bytes.Equal(joined, readVector(t, "a.dat")) {
		t.Fatal("the split files together differ from a.dat")
	}
	back, err := readFrames(t, SplitName(base, 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	checkFrames(t, back, frames)
	// Given directly, a later file is read alone.
	if back, err := readFrames(t, SplitName(base, 2), 0); err != nil || len(back) != 6 {
		t.Fatalf("reading %s.2: %d frames, %v", base, len(back), err)
	}
}

// TestOpenTruncates: writing over a longer file, single or split, leaves
// only the new records (Rogue leaves the old tail).
func TestOpenTruncates(t *testing.T) {
	frames, err := readFrames(t, vectorPath(t, "a.dat"), 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, limit := range []int64{0, 8880} {
		base := filepath.Join(dir, fmt.Sprintf("old%d.dat", limit))
		names := []string{base}
		if limit > 0 {
			names = []string{SplitName(base, 1), SplitName(base, 2)}
		}
		for _, n := range names {
			if err := os.WriteFile(n, bytes.Repeat([]byte{0x5a}, 150000), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		w := NewStreamWriter()
		w.SetMaxSize(limit)
		if err := w.Open(base); err != nil {
			t.Fatal(err)
		}
		writeGot(t, w, frames[:10])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		back, err := readFrames(t, names[0], 0)
		if err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		checkFrames(t, back, frames[:10])
	}
}

// failingWriter accepts ok bytes, then fails every write.
type failingWriter struct {
	ok  int
	buf bytes.Buffer
}

var errDiskFull = errors.New("disk full")

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.buf.Len()+len(p) <= f.ok {
		return f.buf.Write(p)
	}
	n := f.ok - f.buf.Len()
	f.buf.Write(p[:n])
	return n, errDiskFull
}

// TestWriteErrorCounted: a write that fails part-way is counted, logged
// through the given logger, returned by Flush and Close, and every frame
// staged or arriving afterwards is counted as Failed, none as stored.
func TestWriteErrorCounted(t *testing.T) {
	frames, err := readFrames(t, vectorPath(t, "a.dat"), 0)
	if err != nil {
		t.Fatal(err)
	}
	dst := &failingWriter{ok: 10000}
	var logged bytes.Buffer
	w := NewStreamWriter()
	w.SetLogger(slog.New(slog.NewTextHandler(&logged, nil)))
	w.SetBufferSize(4096)
	if err := w.OpenWriter(dst); err != nil {
		t.Fatal(err)
	}
	writeGot(t, w, frames)
	if err := w.Flush(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Flush: %v, want the write error", err)
	}
	if err := w.Close(); !errors.Is(err, errDiskFull) {
		t.Fatalf("Close: %v, want the write error", err)
	}
	s := w.Stats()
	// 4096-byte writes: two succeed (8192 bytes: records 0..4 whole, 5 in
	// part), the third fails; records 0..4 are on disk.
	if s.Records != 5 || s.Bytes != 5*1480 || s.Failed != 45 || s.WriteErrors != 1 || s.Frames() != 50 {
		t.Fatalf("stats %+v", s)
	}
	if !strings.Contains(logged.String(), "disk full") || strings.Count(logged.String(), "\n") != 1 {
		t.Fatalf("log:\n%s", logged.String())
	}
	// The next Open starts afresh.
	var buf bytes.Buffer
	if err := w.OpenWriter(&buf); err != nil {
		t.Fatal(err)
	}
	writeGot(t, w, frames[:1])
	if err := w.Close(); err != nil || buf.Len() != 1480 {
		t.Fatalf("after reopening: %v, %d bytes", err, buf.Len())
	}
}

// TestDevFull: on a full device the error comes back from Close, counted.
func TestDevFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	w := NewStreamWriter()
	if err := w.Open("/dev/full"); err != nil {
		t.Fatal(err)
	}
	f := newFrame(t, nil, make([]byte, 8972), 0, 0, 0)
	for range 200 {
		w.AcceptFrame(f)
	}
	f.Release()
	err := w.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Close: %v, want ENOSPC", err)
	}
	if s := w.Stats(); s.Records != 0 || s.Failed != 200 || s.WriteErrors == 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestOpenWriterNeedsNoLimit: a size limit needs file names.
func TestOpenWriterNeedsNoLimit(t *testing.T) {
	w := NewStreamWriter()
	w.SetMaxSize(1000)
	if err := w.OpenWriter(io.Discard); err == nil {
		t.Fatal("OpenWriter under a size limit succeeded")
	}
	if err := w.SetMaxSize(-1); err == nil {
		t.Fatal("a negative limit was accepted")
	}
	if err := w.Flush(); !errors.Is(err, ErrNotOpen) {
		t.Fatalf("Flush with nothing open: %v", err)
	}
	if err := w.Open(filepath.Join(t.TempDir(), "no", "such", "dir")); err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
}

// TestConcurrentChannels: records sent from several goroutines through
// different channel objects never interleave.
func TestConcurrentChannels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mix.dat")
	w := NewStreamWriter()
	w.SetBufferSize(5000)
	if err := w.Open(path); err != nil {
		t.Fatal(err)
	}
	const perChannel = 100
	var wg sync.WaitGroup
	for ch := uint8(1); ch <= 4; ch++ {
		wg.Go(func() {
			data := bytes.Repeat([]byte{ch}, 700*int(ch))
			for i := range perChannel {
				binary.LittleEndian.PutUint16(data, uint16(i))
				f := newFrame(t, nil, data, 0, 0, 0)
				w.Channel(ch).AcceptFrame(f)
				f.Release()
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	frames, err := readFrames(t, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	next := map[uint8]uint16{}
	for _, g := range frames {
		want := bytes.Repeat([]byte{g.channel}, 700*int(g.channel))
		binary.LittleEndian.PutUint16(want, next[g.channel])
		next[g.channel]++
		if !bytes.Equal(g.data, want) {
			t.Fatalf("channel %d frame %d garbled", g.channel, next[g.channel]-1)
		}
	}
	if len(frames) != 4*perChannel {
		t.Fatalf("%d frames, want %d", len(frames), 4*perChannel)
	}
}

// TestWriterNoAllocs: storing a frame does not allocate in steady state.
func TestWriterNoAllocs(t *testing.T) {
	w := NewStreamWriter()
	if err := w.OpenWriter(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f := newFrame(t, nil, make([]byte, 8972), 3, 0, 0)
	defer f.Release()
	w.AcceptFrame(f)
	if n := testing.AllocsPerRun(1000, func() { w.AcceptFrame(f) }); n != 0 {
		t.Fatalf("%v allocations per frame", n)
	}
}
