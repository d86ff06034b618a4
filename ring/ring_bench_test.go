package ring

import (
	"testing"
)

// Pipe benchmarks move b.N items from a producer goroutine to a consumer
// goroutine through a ring of benchCap slots, both sides using the blocking
// calls so an idle side parks exactly as a real pipeline stage would. The
// buffered channel of the same capacity is the baseline.
const (
	benchCap   = 1024
	benchBatch = 32
)

func reportPerItem(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/item")
}

// consumeCheck runs the consumer side: pop batches with pop until n items
// arrived, verifying they arrive as 0, 1, 2, ...
func consumeCheck(b *testing.B, n int, pop func([]uint64) (int, error), dst []uint64) {
	want := uint64(0)
	for want < uint64(n) {
		k, err := pop(dst)
		if err != nil {
			b.Fatalf("pop: %v", err)
		}
		for _, v := range dst[:k] {
			if v != want {
				b.Fatalf("got item %d, want %d", v, want)
			}
			want++
		}
	}
}

// pushBatches runs the producer side with batch pushes of up to benchBatch
// items, parking in PushWait for one item when the ring is full.
func pushBatches(n int, pushBatch func([]uint64) int, pushWait func(uint64) error) {
	var batch [benchBatch]uint64
	for i := 0; i < n; {
		m := min(benchBatch, n-i)
		for j := range m {
			batch[j] = uint64(i + j)
		}
		for j := 0; j < m; {
			k := pushBatch(batch[j:m])
			if k == 0 {
				if pushWait(batch[j]) != nil {
					return
				}
				k = 1
			}
			j += k
		}
		i += m
	}
}

func BenchmarkPipe(b *testing.B) {
	b.Run("chan", func(b *testing.B) {
		b.ReportAllocs()
		ch := make(chan uint64, benchCap)
		b.ResetTimer()
		go func() {
			for i := range b.N {
				ch <- uint64(i)
			}
		}()
		for want := range uint64(b.N) {
			if v := <-ch; v != want {
				b.Fatalf("got item %d, want %d", v, want)
			}
		}
		reportPerItem(b)
	})
	b.Run("SPSC", func(b *testing.B) {
		b.ReportAllocs()
		r, _ := NewSPSC[uint64](benchCap)
		dst := make([]uint64, 1)
		b.ResetTimer()
		go func() {
			for i := range b.N {
				if r.PushWait(uint64(i)) != nil {
					return
				}
			}
		}()
		consumeCheck(b, b.N, r.PopWait, dst)
		reportPerItem(b)
	})
	b.Run("SPSC-batch32", func(b *testing.B) {
		b.ReportAllocs()
		r, _ := NewSPSC[uint64](benchCap)
		dst := make([]uint64, benchBatch)
		b.ResetTimer()
		go pushBatches(b.N, r.PushBatch, r.PushWait)
		consumeCheck(b, b.N, r.PopWait, dst)
		reportPerItem(b)
	})
	b.Run("MPMC", func(b *testing.B) {
		b.ReportAllocs()
		r, _ := NewMPMC[uint64](benchCap)
		dst := make([]uint64, 1)
		b.ResetTimer()
		go func() {
			for i := range b.N {
				if r.PushWait(uint64(i)) != nil {
					return
				}
			}
		}()
		consumeCheck(b, b.N, r.PopWait, dst)
		reportPerItem(b)
	})
	b.Run("MPMC-batch32", func(b *testing.B) {
		b.ReportAllocs()
		r, _ := NewMPMC[uint64](benchCap)
		dst := make([]uint64, benchBatch)
		b.ResetTimer()
		go pushBatches(b.N, r.PushBatch, r.PushWait)
		consumeCheck(b, b.N, r.PopWait, dst)
		reportPerItem(b)
	})
}

// BenchmarkUncontended pushes and pops one item per operation from a
// single goroutine: the bare cost of the code path without cache-line
// transfers between cores.
func BenchmarkUncontended(b *testing.B) {
	b.Run("chan", func(b *testing.B) {
		b.ReportAllocs()
		ch := make(chan uint64, benchCap)
		for i := range uint64(b.N) {
			ch <- i
			if <-ch != i {
				b.Fatal("wrong item")
			}
		}
		reportPerItem(b)
	})
	b.Run("SPSC", func(b *testing.B) {
		b.ReportAllocs()
		r, _ := NewSPSC[uint64](benchCap)
		for i := range uint64(b.N) {
			r.TryPush(i)
			if v, ok := r.TryPop(); !ok || v != i {
				b.Fatal("wrong item")
			}
		}
		reportPerItem(b)
	})
	b.Run("SPSC-batch1", func(b *testing.B) {
		// The calls a PushWait/PopWait pair makes for one item.
		b.ReportAllocs()
		r, _ := NewSPSC[uint64](benchCap)
		var src, dst [1]uint64
		for i := range uint64(b.N) {
			src[0] = i
			r.PushBatch(src[:])
			if r.PopBatch(dst[:]) != 1 || dst[0] != i {
				b.Fatal("wrong item")
			}
		}
		reportPerItem(b)
	})
	b.Run("SPSC-batch32", func(b *testing.B) {
		// The batch path alone: a push and a pop of 32 items per step.
		// Half a batch stays in the ring, so that one batch in 32
		// straddles the ring's end, as batches do in a pipeline.
		b.ReportAllocs()
		r, _ := NewSPSC[uint64](benchCap)
		var src, dst [benchBatch]uint64
		r.PushBatch(src[:benchBatch/2])
		for i := 0; i < b.N; i += benchBatch {
			if r.PushBatch(src[:]) != benchBatch || r.PopBatch(dst[:]) != benchBatch {
				b.Fatal("wrong batch")
			}
		}
		reportPerItem(b)
	})
	b.Run("MPMC", func(b *testing.B) {
		b.ReportAllocs()
		r, _ := NewMPMC[uint64](benchCap)
		for i := range uint64(b.N) {
			r.TryPush(i)
			if v, ok := r.TryPop(); !ok || v != i {
				b.Fatal("wrong item")
			}
		}
		reportPerItem(b)
	})
}

// BenchmarkPingPong bounces one item between two goroutines through a pair
// of rings (or channels), one item in flight: the cost of a single hand-off
// when nothing accumulates, which is where spinning and parking show.
func BenchmarkPingPong(b *testing.B) {
	b.Run("chan", func(b *testing.B) {
		b.ReportAllocs()
		ping, pong := make(chan uint64, benchCap), make(chan uint64, benchCap)
		go func() {
			for v := range ping {
				pong <- v
			}
		}()
		for i := range uint64(b.N) {
			ping <- i
			if <-pong != i {
				b.Fatal("wrong item")
			}
		}
		close(ping)
		reportPerItem(b)
	})
	b.Run("SPSC", func(b *testing.B) {
		b.ReportAllocs()
		ping, _ := NewSPSC[uint64](benchCap)
		pong, _ := NewSPSC[uint64](benchCap)
		go func() {
			dst := make([]uint64, 1)
			for {
				if _, err := ping.PopWait(dst); err != nil {
					return
				}
				if pong.PushWait(dst[0]) != nil {
					return
				}
			}
		}()
		dst := make([]uint64, 1)
		for i := range uint64(b.N) {
			if ping.PushWait(i) != nil {
				b.Fatal("closed")
			}
			if _, err := pong.PopWait(dst); err != nil || dst[0] != i {
				b.Fatal("wrong item")
			}
		}
		ping.Close()
		reportPerItem(b)
	})
}
