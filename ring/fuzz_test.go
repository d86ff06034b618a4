package ring

import (
	"math"
	"testing"
)

// FuzzModel drives both rings from one goroutine with an arbitrary
// sequence of operations, starting at an arbitrary index origin, and
// compares every result with a plain slice used as a FIFO.
func FuzzModel(f *testing.F) {
	f.Add(uint8(0), uint64(0), []byte{0, 0, 0, 1, 1, 1, 1})
	f.Add(uint8(2), uint64(math.MaxUint64-3), []byte{2 + 5*9, 3 + 5*4, 2 + 5*30, 3 + 5*50, 4, 0, 1})
	f.Add(uint8(5), uint64(math.MaxUint64), []byte{2 + 5*50, 2 + 5*50, 3 + 5*7, 0, 0, 3 + 5*50, 4})
	f.Fuzz(func(t *testing.T, capShift uint8, start uint64, ops []byte) {
		capacity := 2 << (capShift % 7)
		for _, k := range kinds[int]() {
			q := mustMake(t, k, capacity, start)
			var model []int
			next := 0
			buf := make([]int, 64)
			for step, op := range ops {
				arg := int(op / 5)
				switch op % 5 {
				case 0:
					ok := q.TryPush(next)
					if want := len(model) < capacity; ok != want {
						t.Fatalf("%s step %d: TryPush = %v, want %v", k.name, step, ok, want)
					}
					if ok {
						model = append(model, next)
						next++
					}
				case 1:
					v, ok := q.TryPop()
					if want := len(model) > 0; ok != want || (ok && v != model[0]) {
						t.Fatalf("%s step %d: TryPop = %d, %v; model %v", k.name, step, v, ok, model)
					}
					if ok {
						model = model[1:]
					}
				case 2:
					in := buf[:arg]
					for i := range in {
						in[i] = next + i
					}
					n := q.PushBatch(in)
					if want := min(arg, capacity-len(model)); n != want {
						t.Fatalf("%s step %d: PushBatch(%d) = %d, want %d", k.name, step, arg, n, want)
					}
					model = append(model, in[:n]...)
					next += n
				case 3:
					out := buf[:arg]
					n := q.PopBatch(out)
					if want := min(arg, len(model)); n != want {
						t.Fatalf("%s step %d: PopBatch(%d) = %d, want %d", k.name, step, arg, n, want)
					}
					for i := range n {
						if out[i] != model[i] {
							t.Fatalf("%s step %d: PopBatch item %d = %d, want %d", k.name, step, i, out[i], model[i])
						}
					}
					model = model[n:]
				case 4:
					if q.Len() != len(model) {
						t.Fatalf("%s step %d: Len = %d, want %d", k.name, step, q.Len(), len(model))
					}
				}
			}
			if q.Len() != len(model) {
				t.Fatalf("%s: final Len = %d, want %d", k.name, q.Len(), len(model))
			}
		}
	})
}
