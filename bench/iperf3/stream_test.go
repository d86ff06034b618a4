package iperf3

import "testing"

// TestRxAccounting follows iperf3's rules: a gap adds its size to lost,
// a counter at or below the highest is out of order and takes one back,
// packets is the highest counter; datagrams outside the test and short
// ones are counted apart.
func TestRxAccounting(t *testing.T) {
	cases := []struct {
		name   string
		counts []uint64
		want   RxCounts
	}{
		{"in order", []uint64{1, 2, 3}, RxCounts{Packets: 3, Received: 3}},
		{"gap", []uint64{1, 4, 5}, RxCounts{Packets: 5, Received: 3, Lost: 2}},
		{"late one", []uint64{1, 3, 2}, RxCounts{Packets: 3, Received: 3, Lost: 0, OutOfOrder: 1}},
		{"duplicate", []uint64{1, 2, 2}, RxCounts{Packets: 2, Received: 3, OutOfOrder: 1}},
		{"first lost", []uint64{2, 3}, RxCounts{Packets: 3, Received: 2, Lost: 1}},
	}
	for _, c := range cases {
		rx := &rxStream{running: true}
		buf := make([]byte, 100)
		for _, n := range c.counts {
			PutHeader(buf, 0, 0, n, false)
			if v := rx.add(buf, 0); v != rxData {
				t.Fatalf("%s: verdict %d", c.name, v)
			}
		}
		got := rx.counts()
		got.Bytes, got.Jitter = 0, 0
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	rx := &rxStream{wide: true}
	if rx.add(make([]byte, 20), 0) != rxOutside || rx.add(make([]byte, 15), 0) != rxMalformed {
		t.Error("outside/malformed verdicts")
	}
	rx.setRunning(true)
	// Jitter: transit times 0, 1 ms, 0 -> J = 1/16 ms, then (1 - 1/16)/16 more.
	b := make([]byte, 16)
	for i, at := range []float64{10.000, 10.001, 10.000} {
		PutHeader(b, 0, 0, uint64(i+1), true)
		rx.add(b, at-10+float64(0))
	}
	want := 0.001/16 + (0.001-0.001/16)/16
	if j := rx.counts().Jitter; j < want*0.999 || j > want*1.001 {
		t.Errorf("jitter %g, want %g", j, want)
	}
}
