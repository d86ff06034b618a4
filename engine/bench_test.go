package engine

import (
	"sync"
	"testing"
)

// BenchmarkFrameCycle is the steady-state stream path: request a frame from
// the primary slave's pool, fill it, send it to two slaves, release it.
func BenchmarkFrameCycle(b *testing.B) {
	for _, size := range []int{1472, 8972} {
		b.Run(sizeName(size), func(b *testing.B) {
			pool, err := NewFixedPool(size, 64, 64)
			if err != nil {
				b.Fatal(err)
			}
			var m Master
			primary := &poolSlave{Pool: pool}
			second := &BaseSlave{}
			Connect(&m, primary)
			Connect(&m, second)
			payload := make([]byte, size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for b.Loop() {
				f, err := m.ReqFrame(size, true)
				if err != nil {
					b.Fatal(err)
				}
				f.WriteAt(payload, 0)
				m.SendFrame(f)
				f.Release()
			}
			if primary.FrameCount() == 0 || second.FrameCount() != primary.FrameCount() {
				b.Fatalf("slaves saw %d and %d frames", primary.FrameCount(), second.FrameCount())
			}
		})
	}
}

// BenchmarkPoolParallel takes and returns buffers from every P at once; run
// with -cpu 1,2 to see how it scales.
func BenchmarkPoolParallel(b *testing.B) {
	pool, _ := NewFixedPool(2048, 1024, 0)
	var once sync.Once
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f, err := pool.AcceptReq(1500, true)
			if err != nil {
				once.Do(func() { b.Error(err) })
				return
			}
			f.Release()
		}
	})
}

func sizeName(n int) string {
	switch n {
	case 1472:
		return "1472B"
	case 8972:
		return "8972B"
	}
	return "other"
}
