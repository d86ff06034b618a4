package fileio

import (
	"bufio"
	"io"
	"os"
	"testing"
)

// Both benchmarks store 8972-byte frames (a jumbo datagram's payload) as
// 8980-byte records in a file on tmpfs when there is one, so that the disk
// is as fast as memory and the writer's own cost shows. The file is
// truncated every benchRecycle bytes to bound the memory tmpfs uses; both
// pay that the same way. Run them alternately (see docs/fileio.md).

const (
	benchPayload = 8972
	benchRecycle = 64 << 20
)

// benchFile returns a path for the benchmark's file, under /dev/shm when
// it is writable.
func benchFile(b *testing.B) string {
	dir, err := os.MkdirTemp("/dev/shm", "fileio-bench")
	if err != nil {
		dir = b.TempDir()
	} else {
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	return dir + "/bench.dat"
}

// BenchmarkStreamWriter is StreamWriter.AcceptFrame, one frame per op,
// into a file (tmpfs) and into io.Discard (the writer's own cost).
func BenchmarkStreamWriter(b *testing.B) {
	b.Run("tmpfs", func(b *testing.B) { benchStreamWriter(b, benchFile(b)) })
	b.Run("discard", func(b *testing.B) { benchStreamWriter(b, "") })
}

// BenchmarkBufioWriter writes the same bytes through a bufio.Writer of the
// same size: the header and the payload of each record, one op per record.
func BenchmarkBufioWriter(b *testing.B) {
	b.Run("tmpfs", func(b *testing.B) { benchBufioWriter(b, benchFile(b)) })
	b.Run("discard", func(b *testing.B) { benchBufioWriter(b, "") })
}

// benchStreamWriter writes to path, or to io.Discard when path is "".
func benchStreamWriter(b *testing.B, path string) {
	f := newFrame(b, nil, make([]byte, benchPayload), 1, 0, 0)
	defer f.Release()
	w := NewStreamWriter()
	open := func() error { return w.OpenWriter(io.Discard) }
	if path != "" {
		open = func() error { return w.Open(path) } // truncates
	}
	if err := open(); err != nil {
		b.Fatal(err)
	}
	perFile := benchRecycle / (benchPayload + HeaderSize)
	b.SetBytes(benchPayload + HeaderSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i++; i%perFile == 0 && path != "" {
			if err := open(); err != nil {
				b.Fatal(err)
			}
		}
		w.AcceptFrame(f)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	if s := w.Stats(); s.Lost() != 0 {
		b.Fatalf("stats %+v", s)
	}
}

// benchBufioWriter writes to path, or to io.Discard when path is "".
func benchBufioWriter(b *testing.B, path string) {
	var dst io.Writer = io.Discard
	var file *os.File
	if path != "" {
		var err error
		if file, err = os.Create(path); err != nil {
			b.Fatal(err)
		}
		defer file.Close()
		dst = file
	}
	bw := bufio.NewWriterSize(dst, DefaultBufferSize)
	var hdr [HeaderSize]byte
	Header{Payload: benchPayload, Channel: 1}.Put(&hdr)
	payload := make([]byte, benchPayload)
	perFile := benchRecycle / (benchPayload + HeaderSize)
	b.SetBytes(benchPayload + HeaderSize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i++; i%perFile == 0 && file != nil {
			if err := recycle(bw, file); err != nil {
				b.Fatal(err)
			}
		}
		bw.Write(hdr[:])
		if _, err := bw.Write(payload); err != nil {
			b.Fatal(err)
		}
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
}

// recycle flushes bw and empties its file, as StreamWriter.Open does.
func recycle(bw *bufio.Writer, f *os.File) error {
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.Seek(0, 0)
	return err
}
