package prbs

import (
	"fmt"
	"testing"
	"time"

	"udpstream.dev/engine"
)

var benchShapes = []struct{ width, size int }{
	{32, 1472}, {32, 8972}, {64, 1472}, {64, 8960}, {512, 1472}, {512, 8960},
}

// reportRate adds GB/s and frames/s to a benchmark that handled b.N frames
// of size bytes.
func reportRate(b *testing.B, size int) {
	sec := b.Elapsed().Seconds()
	if sec <= 0 {
		return
	}
	b.ReportMetric(float64(b.N)*float64(size)/sec/1e9, "GB/s")
	b.ReportMetric(float64(b.N)/sec, "frames/s")
}

func BenchmarkFill(b *testing.B) { benchFill(b) }

// BenchmarkFillPortable is BenchmarkFill with the vector paths off: the
// portable code, for comparisons within one binary.
func BenchmarkFillPortable(b *testing.B) { withAVX2(b, false, func() { benchFill(b) }) }

func benchFill(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(fmt.Sprintf("w%d/%dB", s.width, s.size), func(b *testing.B) {
			buf := make([]byte, s.size)
			b.ReportAllocs()
			b.SetBytes(int64(s.size))
			seq := uint32(0)
			for b.Loop() {
				if err := Fill(buf, seq, s.width); err != nil {
					b.Fatal(err)
				}
				seq++
			}
			reportRate(b, s.size)
		})
	}
}

func BenchmarkVerify(b *testing.B) { benchVerify(b) }

// BenchmarkVerifyPortable is BenchmarkVerify with the vector paths off.
func BenchmarkVerifyPortable(b *testing.B) { withAVX2(b, false, func() { benchVerify(b) }) }

func benchVerify(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(fmt.Sprintf("w%d/%dB", s.width, s.size), func(b *testing.B) {
			buf := make([]byte, s.size)
			Fill(buf, 12345, s.width)
			b.ReportAllocs()
			b.SetBytes(int64(s.size))
			for b.Loop() {
				if _, err := Verify(buf, s.width); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, s.size)
		})
	}
}

// BenchmarkGenerateCheck is the in-process stream path: Generator.GenFrame
// from a fixed pool to a Checker, with payload checking on.
func BenchmarkGenerateCheck(b *testing.B) {
	for _, s := range []struct {
		name        string
		size, fixed int
	}{{"1472B", 1472, 1472}, {"8972B", 8972, 8972}, {"8972B-split", 8972, 1000}} {
		b.Run(s.name, func(b *testing.B) {
			pool, err := engine.NewFixedPool(s.fixed, 64, 0)
			if err != nil {
				b.Fatal(err)
			}
			g, _ := NewGenerator(32)
			g.SetPool(pool)
			c, _ := NewChecker(32)
			engine.Connect(g, c)
			b.ReportAllocs()
			b.SetBytes(int64(s.size))
			for b.Loop() {
				if err := g.GenFrame(s.size); err != nil {
					b.Fatal(err)
				}
			}
			if st := c.Stats(); st.Errors() != 0 || st.Frames != uint64(b.N) {
				b.Fatalf("stats %+v: %v", st, c.FirstError())
			}
			reportRate(b, s.size)
		})
	}
}

// BenchmarkGenerateModes is BenchmarkGenerateCheck at 1472 bytes for the
// payload switches and custom taps; the checker checks payloads only where
// the generator makes real ones.
func BenchmarkGenerateModes(b *testing.B) {
	for _, m := range []struct {
		name         string
		width        int
		taps         []int
		noPayload    bool
		count        bool
		checkPayload bool
	}{
		{"lfsr", 32, nil, false, false, true},
		{"nopayload", 32, nil, true, false, false},
		{"count", 32, nil, false, true, false},
		{"taps-3-31", 32, []int{3, 31}, false, false, true},
		{"w64-taps-1-63", 64, []int{1, 63}, false, false, true},
	} {
		b.Run(m.name, func(b *testing.B) {
			pool, _ := engine.NewFixedPool(1472, 64, 0)
			g, _ := NewGenerator(m.width)
			c, _ := NewChecker(m.width)
			if m.taps != nil {
				g.SetTaps(m.taps)
				c.SetTaps(m.taps)
			}
			g.SetGenPayload(!m.noPayload)
			g.SetSendCount(m.count)
			c.SetCheckPayload(m.checkPayload)
			g.SetPool(pool)
			engine.Connect(g, c)
			b.ReportAllocs()
			b.SetBytes(1472)
			for b.Loop() {
				if err := g.GenFrame(1472); err != nil {
					b.Fatal(err)
				}
			}
			if st := c.Stats(); st.Errors() != 0 {
				b.Fatalf("stats %+v: %v", st, c.FirstError())
			}
			reportRate(b, 1472)
		})
	}
}

// BenchmarkBackground runs the background generator back to back into a
// checker until b.N frames have passed; starting and stopping the
// goroutine is part of the cost.
func BenchmarkBackground(b *testing.B) {
	pool, _ := engine.NewFixedPool(1472, 64, 0)
	g, _ := NewGenerator(32)
	c, _ := NewChecker(32)
	g.SetPool(pool)
	engine.Connect(g, c)
	b.ReportAllocs()
	b.SetBytes(1472)
	b.ResetTimer()
	if err := g.Enable(1472); err != nil {
		b.Fatal(err)
	}
	for c.RxCount() < uint64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	g.Disable()
	b.StopTimer()
	if st := c.Stats(); st.Errors() != 0 || g.TxErrors() != 0 {
		b.Fatalf("stats %+v, tx errors %d: %v", st, g.TxErrors(), c.FirstError())
	}
	reportRate(b, 1472)
}
