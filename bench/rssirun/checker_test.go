package rssirun

import (
	"testing"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
)

// A frame that fails its check counts as an error, not also as lost.
func TestCheckerCounts(t *testing.T) {
	var c Checker
	send := func(seq uint32, flip bool) {
		b := make([]byte, 64)
		if err := prbs.Fill(b, seq, 32); err != nil {
			t.Fatal(err)
		}
		if flip {
			b[20] ^= 1
		}
		f, err := engine.NewPool().AcceptReq(len(b), true)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt(b, 0)
		c.AcceptFrame(f)
		f.Release()
	}
	send(0, false)
	send(1, true) // damaged
	send(2, false)
	// 3 lost
	send(4, false)
	frames, bytes, lost, errs := c.Counts()
	if frames != 4 || bytes != 4*64 || errs != 1 || lost != 1 {
		t.Fatalf("frames %d bytes %d errors %d lost %d, want 4 256 1 1", frames, bytes, errs, lost)
	}
}
