package fileio

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"udpstream.dev/engine"
)

// vectorDirs lists where the files written by Rogue's own StreamWriter are
// found: the copy in testdata first, then the shared reference folder
// beside the repository.
var vectorDirs = []string{
	"testdata",
	filepath.Join("..", "..", "..", "shared", "rogue", "fileio"),
}

// vectorPath returns the path of one of Rogue's files.
func vectorPath(t testing.TB, name string) string {
	t.Helper()
	for _, d := range vectorDirs {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	t.Fatalf("%s not found in %v", name, vectorDirs)
	return ""
}

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(vectorPath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// expectedRecord is one entry of expected-a.json: what Rogue's reader
// delivered for a record of a.dat.
type expectedRecord struct {
	Index     int    `json:"index"`
	Size      int    `json:"size"`
	Channel   uint8  `json:"channel"`
	Flags     uint16 `json:"flags"`
	Error     uint8  `json:"error"`
	FirstUser uint8  `json:"first_user"`
	LastUser  uint8  `json:"last_user"`
	CRC32     string `json:"crc32"`
}

func loadExpected(t testing.TB) []expectedRecord {
	t.Helper()
	var doc struct {
		Count   int              `json:"records_count"`
		Records []expectedRecord `json:"records"`
	}
	if err := json.Unmarshal(readVector(t, "expected-a.json"), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Records) != doc.Count || doc.Count == 0 {
		t.Fatalf("expected-a.json: %d records, count %d", len(doc.Records), doc.Count)
	}
	return doc.Records
}

// got is a delivered frame, copied out.
type got struct {
	channel, errCode uint8
	flags            uint16
	data             []byte
	buffers          int
}

func (g got) record(index int) expectedRecord {
	return expectedRecord{
		Index: index, Size: len(g.data), Channel: g.channel, Flags: g.flags, Error: g.errCode,
		FirstUser: uint8(g.flags), LastUser: uint8(g.flags >> 8),
		CRC32: fmt.Sprintf("%08x", crc32.ChecksumIEEE(g.data)),
	}
}

// collector is a Slave that keeps a copy of every frame it accepts and can
// serve frames from its own pool.
type collector struct {
	mu     sync.Mutex
	frames []got
	pool   *engine.Pool // nil: the master's default pool
}

func (c *collector) AcceptFrame(f engine.Frame) {
	g := got{channel: f.Channel(), errCode: f.Error(), flags: f.Flags(), data: make([]byte, f.Payload()), buffers: f.BufferCount()}
	f.ReadAt(g.data, 0)
	c.mu.Lock()
	c.frames = append(c.frames, g)
	c.mu.Unlock()
}

func (c *collector) got() []got {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]got(nil), c.frames...)
}

// poolSlave is a collector that allocates from its pool.
type poolSlave struct{ *collector }

func (p poolSlave) AcceptReq(size int, zeroCopy bool) (engine.Frame, error) {
	return p.pool.AcceptReq(size, zeroCopy)
}

// readAll reads name with a fresh reader into a collector and returns the
// frames and the reader's final error.
func readAll(t testing.TB, name string, raw int, slave engine.Slave, c *collector) ([]got, error) {
	t.Helper()
	r := NewStreamReader()
	if err := r.SetRawFrameSize(raw); err != nil {
		t.Fatal(err)
	}
	engine.Connect(r, slave)
	if err := r.Open(name); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.CloseWait() }()
	select {
	case err := <-done:
		return c.got(), err
	case <-time.After(20 * time.Second):
		t.Fatalf("reading %s did not finish", name)
		return nil, nil
	}
}

func readFrames(t testing.TB, name string, raw int) ([]got, error) {
	t.Helper()
	c := &collector{}
	return readAll(t, name, raw, c, c)
}

// newFrame makes a frame of payload data from pool p (a default pool when
// nil) with the given metadata.
func newFrame(t testing.TB, p *engine.Pool, data []byte, channel, errCode uint8, flags uint16) engine.Frame {
	t.Helper()
	if p == nil {
		p = engine.NewPool()
	}
	f, err := p.AcceptReq(max(len(data), 1), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.SetPayload(len(data)); err != nil {
		t.Fatal(err)
	}
	f.SetChannel(channel)
	f.SetError(errCode)
	f.SetFlags(flags)
	return f
}

// writeGot writes frames with w (opened by the caller) and releases them.
func writeGot(t testing.TB, w *StreamWriter, frames []got) {
	t.Helper()
	for _, g := range frames {
		f := newFrame(t, nil, g.data, g.channel, g.errCode, g.flags)
		w.AcceptFrame(f)
		f.Release()
	}
}
