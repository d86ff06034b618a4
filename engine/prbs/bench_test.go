package prbs

import (
	"fmt"
	"testing"

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

func BenchmarkFill(b *testing.B) {
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

func BenchmarkVerify(b *testing.B) {
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
