package fileio

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestReadRogueFile reads a.dat, written by Rogue's StreamWriter, and
// compares every frame with what Rogue's own reader delivered.
func TestReadRogueFile(t *testing.T) {
	compareWithRogue(t, "a.dat", 0)
}

// compareWithRogue reads the Rogue-written file name (frames of size
// bytes when size is not 0) and compares every frame with what Rogue's
// own reader delivered.
func compareWithRogue(t *testing.T, name string, size int) {
	t.Helper()
	want := loadExpected(t)
	frames, err := readFrames(t, vectorPath(t, name), size)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != len(want) {
		t.Fatalf("%s: %d frames, want %d", name, len(frames), len(want))
	}
	for i, g := range frames {
		if rec := g.record(i); rec != want[i] {
			t.Errorf("%s: frame %d: got %+v, want %+v", name, i, rec, want[i])
		}
	}
}

// TestReadRogueRawFile reads c.dat, written by Rogue in raw mode, as
// 1472-byte frames: the payloads of a.dat, with no metadata.
func TestReadRogueRawFile(t *testing.T) {
	compareWithRogue(t, "c.dat", 1472)
	// A frame size that does not divide the file leaves a short last frame.
	frames, err := readFrames(t, vectorPath(t, "c.dat"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 74 || len(frames[73].data) != 600 {
		t.Fatalf("%d frames of 1000 bytes, last %d bytes; want 74, last 600", len(frames), len(frames[len(frames)-1].data))
	}
}

// TestWriteMatchesRogue writes the frames read from Rogue's files back out
// and compares the result byte for byte with Rogue's, framed and raw, with
// buffers smaller than, equal to and larger than a record.
func TestWriteMatchesRogue(t *testing.T) {
	frames, err := readFrames(t, vectorPath(t, "a.dat"), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []bool{false, true} {
		want := readVector(t, "a.dat")
		if raw {
			want = readVector(t, "c.dat")
		}
		for _, buf := range []int{7, 1472, 1480, 4096, 0} {
			path := filepath.Join(t.TempDir(), "out.dat")
			w := NewStreamWriter()
			w.SetRaw(raw)
			w.SetBufferSize(buf)
			if err := w.Open(path); err != nil {
				t.Fatal(err)
			}
			writeGot(t, w, frames)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			out, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("raw %v, buffer %d: %d bytes differ from Rogue's %d", raw, buf, len(out), len(want))
			}
			if s := w.Stats(); s.Records != 50 || s.Bytes != uint64(len(want)) || s.Lost() != 0 {
				t.Errorf("raw %v, buffer %d: stats %+v", raw, buf, s)
			}
		}
	}
}
