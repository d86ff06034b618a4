package prbs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"udpstream.dev/engine"
)

const vectorFile = "w32_1472.bin"

// vectorPaths lists where the frames recorded from Rogue's generator are
// found: the copy in testdata first, then the shared reference folder that
// sits beside the repository.
var vectorPaths = []string{
	filepath.Join("testdata", vectorFile),
	filepath.Join("..", "..", "..", "shared", "rogue", "prbs-vectors", vectorFile),
}

// loadVectors returns the recorded frames: records of a 4-byte
// little-endian length followed by that many bytes.
func loadVectors(t testing.TB) [][]byte {
	t.Helper()
	for _, p := range vectorPaths {
		raw, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		frames, err := parseVectors(raw)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return frames
	}
	t.Fatalf("%s not found in %v", vectorFile, vectorPaths)
	return nil
}

func parseVectors(raw []byte) ([][]byte, error) {
	var frames [][]byte
	for len(raw) > 0 {
		if len(raw) < 4 {
			return nil, errors.New("truncated length")
		}
		n := int(binary.LittleEndian.Uint32(raw))
		raw = raw[4:]
		if n > len(raw) {
			return nil, errors.New("truncated record")
		}
		frames = append(frames, raw[:n:n])
		raw = raw[n:]
	}
	return frames, nil
}

func TestVectorCopyMatchesShared(t *testing.T) {
	shared, err := os.ReadFile(vectorPaths[1])
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("shared reference folder not beside the repository (%s)", vectorPaths[1])
	}
	if err != nil {
		t.Fatal(err)
	}
	local, err := os.ReadFile(vectorPaths[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(local, shared) {
		t.Fatal("testdata copy of the vectors differs from the shared reference")
	}
}

func TestVectorsShape(t *testing.T) {
	frames := loadVectors(t)
	if len(frames) != 64 {
		t.Fatalf("%d frames, want 64", len(frames))
	}
	for i, f := range frames {
		if len(f) != 1472 {
			t.Fatalf("frame %d is %d bytes", i, len(f))
		}
		if seq := binary.LittleEndian.Uint32(f); seq != uint32(i) {
			t.Fatalf("frame %d has sequence %d", i, seq)
		}
	}
}

func TestGeneratorReproducesVectors(t *testing.T) {
	frames := loadVectors(t)
	buf := make([]byte, 1472)
	for i, want := range frames {
		if err := Fill(buf, uint32(i), 32); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, want) {
			t.Fatalf("Fill(seq %d) differs from Rogue's frame at byte %d", i, firstDiff(buf, want))
		}
	}

	// The Generator, through a pool and a master, emits the same bytes.
	g, _ := NewGenerator(32)
	rec := &recorder{}
	engine.Connect(g, rec)
	for range frames {
		if err := g.GenFrame(1472); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.frames) != len(frames) {
		t.Fatalf("recorded %d frames", len(rec.frames))
	}
	for i := range frames {
		if !bytes.Equal(rec.frames[i], frames[i]) {
			t.Fatalf("GenFrame %d differs from Rogue's frame at byte %d", i, firstDiff(rec.frames[i], frames[i]))
		}
	}
	if g.TxFrames() != 64 || g.TxBytes() != 64*1472 {
		t.Fatalf("tx counters %d frames %d bytes", g.TxFrames(), g.TxBytes())
	}
}

func TestCheckerAcceptsVectors(t *testing.T) {
	frames := loadVectors(t)
	c, _ := NewChecker(32)
	pool := engine.NewPool()
	for _, data := range frames {
		feed(t, c, pool, data)
	}
	st := c.Stats()
	if st.Errors() != 0 || st.Frames != 64 || st.Bytes != 64*1472 {
		t.Fatalf("stats %+v, first error %v", st, c.FirstError())
	}
	if c.FirstError() != nil {
		t.Fatalf("FirstError = %v with no errors", c.FirstError())
	}
	for i, data := range frames {
		seq, err := Verify(data, 32)
		if err != nil || seq != uint32(i) {
			t.Fatalf("Verify(frame %d) = %d, %v", i, seq, err)
		}
	}
}

// wantCounter says which counter a single flipped byte must increase, for a
// checker that has just seen the previous frame: word 0 is the sequence,
// word 1 the size, the rest payload.
func wantCounter(pos int) string {
	switch {
	case pos < 4:
		return "seq"
	case pos < 8:
		return "size"
	}
	return "payload"
}

func counterOf(st CheckerStats) string {
	switch {
	case st.Errors() != 1:
		return "none or several"
	case st.SeqErrors == 1:
		return "seq"
	case st.SizeErrors == 1:
		return "size"
	case st.PayloadErrors == 1:
		return "payload"
	}
	return "frame"
}

// checkFlip feeds frame k-1 intact and frame k with byte pos XORed with
// mask to a fresh checker and requires exactly one error of the right kind.
func checkFlip(t *testing.T, pool *engine.Pool, frames [][]byte, k, pos int, mask byte) {
	t.Helper()
	bad := bytes.Clone(frames[k])
	bad[pos] ^= mask
	c, _ := NewChecker(32)
	feed(t, c, pool, frames[k-1])
	feed(t, c, pool, bad)
	st := c.Stats()
	if got, want := counterOf(st), wantCounter(pos); got != want {
		t.Fatalf("frame %d, byte %d ^ %#x: counted as %s (%+v), want one %s error", k, pos, mask, got, st, want)
	}
	if st.Frames != 1 || c.FirstError() == nil {
		t.Fatalf("frame %d, byte %d: %d frames passed, first error %v", k, pos, st.Frames, c.FirstError())
	}
	if _, err := Verify(bad, 32); err == nil {
		t.Fatalf("Verify accepted frame %d with byte %d ^ %#x", k, pos, mask)
	}
}

func TestCheckerDetectsEveryByteOfOneFrame(t *testing.T) {
	frames := loadVectors(t)
	pool := engine.NewPool()
	for pos := range frames[5] {
		checkFlip(t, pool, frames, 5, pos, 0xff)
		checkFlip(t, pool, frames, 5, pos, 0x01)
		checkFlip(t, pool, frames, 5, pos, 0x80)
	}
}

func TestCheckerDetectsRandomBytesOfEveryFrame(t *testing.T) {
	frames := loadVectors(t)
	pool := engine.NewPool()
	rng := rand.New(rand.NewPCG(7, 8))
	for k := 1; k < len(frames); k++ {
		for range 20 {
			checkFlip(t, pool, frames, k, rng.IntN(len(frames[k])), byte(1+rng.IntN(255)))
		}
	}
	// Frame 0 has sequence 0, which resynchronises, so a flipped sequence
	// byte is caught by the payload check instead.
	for pos := range frames[0] {
		bad := bytes.Clone(frames[0])
		bad[pos] ^= 0x10
		c, _ := NewChecker(32)
		feed(t, c, pool, bad)
		if st := c.Stats(); st.Errors() != 1 {
			t.Fatalf("frame 0 byte %d flipped: %+v", pos, st)
		}
	}
}

func TestCheckerDroppedFrameIsSequenceError(t *testing.T) {
	frames := loadVectors(t)
	c, _ := NewChecker(32)
	pool := engine.NewPool()
	for i, data := range frames {
		if i == 10 {
			continue
		}
		feed(t, c, pool, data)
	}
	st := c.Stats()
	if st.SeqErrors != 1 || st.Errors() != 1 || st.Frames != 62 {
		t.Fatalf("one dropped frame: %+v", st)
	}
	if err := c.FirstError(); err == nil || !bytes.Contains([]byte(err.Error()), []byte("sequence 11, expected 10")) {
		t.Fatalf("FirstError = %v", err)
	}
}

func TestCheckerWrongSize(t *testing.T) {
	frames := loadVectors(t)
	pool := engine.NewPool()
	for _, n := range []int{1468, 1471, 1473, 8, 0} {
		c, _ := NewChecker(32)
		feed(t, c, pool, frames[0])
		data := make([]byte, n)
		copy(data, frames[1])
		feed(t, c, pool, data)
		if st := c.Stats(); st.SizeErrors != 1 || st.Errors() != 1 {
			t.Fatalf("frame 1 cut to %d bytes: %+v", n, st)
		}
		if _, err := Verify(data, 32); !errors.Is(err, ErrSize) {
			t.Fatalf("Verify of %d bytes: %v", n, err)
		}
	}
}

// TestCheckerSplitFrames spreads each frame over 97-byte buffers, so words
// straddle buffer boundaries, and expects the same verdicts as for
// contiguous frames.
func TestCheckerSplitFrames(t *testing.T) {
	frames := loadVectors(t)
	pool, err := engine.NewFixedPool(97, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewChecker(32)
	for _, data := range frames {
		f := frameOf(t, pool, data)
		if f.BufferCount() < 2 {
			t.Fatalf("frame in %d buffer(s), want several", f.BufferCount())
		}
		c.AcceptFrame(f)
		f.Release()
	}
	if st := c.Stats(); st.Errors() != 0 || st.Frames != 64 {
		t.Fatalf("split frames: %+v, %v", st, c.FirstError())
	}
	// Every byte of one frame, and the bytes around each buffer boundary
	// of the others, flipped in split frames.
	for pos := range frames[9] {
		checkFlip(t, pool, frames, 9, pos, 0x40)
	}
	for k := 1; k < len(frames); k++ {
		for b := 97; b < 1472; b += 97 {
			checkFlip(t, pool, frames, k, b-1, 0x02)
			checkFlip(t, pool, frames, k, b, 0x02)
		}
	}
	if pool.AllocCount() != 0 {
		t.Fatalf("%d buffers not returned", pool.AllocCount())
	}
}

// recorder keeps a copy of every frame it accepts.
type recorder struct{ frames [][]byte }

func (r *recorder) AcceptFrame(f engine.Frame) {
	b := make([]byte, f.Payload())
	f.ReadAt(b, 0)
	r.frames = append(r.frames, b)
}

// frameOf copies data into a frame from pool.
func frameOf(t testing.TB, pool *engine.Pool, data []byte) engine.Frame {
	t.Helper()
	f, err := pool.AcceptReq(len(data), true)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SetPayload(len(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	return f
}

// feed hands a copy of data to c as a frame from pool.
func feed(t testing.TB, c *Checker, pool *engine.Pool, data []byte) {
	t.Helper()
	f := frameOf(t, pool, data)
	c.AcceptFrame(f)
	f.Release()
}
