package engine_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"
	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
)

// tokenSlave returns one flow-control token per frame it sees.
type tokenSlave struct{ tokens chan struct{} }

func (s tokenSlave) AcceptFrame(engine.Frame) { s.tokens <- struct{}{} }

// TestPRBSRoundTrip streams Rogue PRBS frames of varying size client ->
// server -> client and checks that every one comes back, in order and
// intact. A window of frames in flight (credit returned per echo) and large
// receive buffers make the run lossless by construction, so any loss,
// reordering or corruption is an engine fault.
func TestPRBSRoundTrip(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	defer goleak.VerifyNone(t, opt)
	const frames = 100_000
	const window = 1024
	// Under -race (ten times slower) the other paths run a quarter of
	// the stream; the full length runs on the default path every time.
	short := frames
	if raceEnabled {
		short = frames / 4
	}
	cases := []struct {
		name   string
		frames int
		opts   []engine.Option
	}{
		{"mmsg", frames, []engine.Option{engine.WithTransport(engine.TransportMmsg)}},
		{"gro+txqueue", short, []engine.Option{engine.WithTransport(engine.TransportGRO), engine.WithTxQueue(1024)}},
		{"naive+rxqueue", short, []engine.Option{engine.WithTransport(engine.TransportNaive), engine.WithRxQueue(1024)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := engine.NewServer(0, false, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			engine.Connect(s, s) // echo
			c, err := engine.NewClient("127.0.0.1", s.Port(), false, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !s.SetRxBufferCount(4*window) || !c.SetRxBufferCount(4*window) {
				t.Fatal("receive buffers not granted")
			}
			check, err := prbs.NewChecker(32)
			if err != nil {
				t.Fatal(err)
			}
			tokens := make(chan struct{}, window)
			// The token slave is the primary, so it runs last: a token
			// comes back only after the checker has seen the frame.
			engine.Connect(c, tokenSlave{tokens})
			engine.Connect(c, check)
			gen, err := prbs.NewGenerator(32)
			if err != nil {
				t.Fatal(err)
			}
			gen.SetSequence(1)
			engine.Connect(gen, c)
			for range window {
				tokens <- struct{}{}
			}
			deadline := time.After(60 * time.Second)
			for i := range tc.frames {
				select {
				case <-tokens:
				case <-deadline:
					t.Fatalf("stalled after %d frames: checker %+v, client %+v, server %+v",
						i, check.Stats(), c.Stats(), s.Stats())
				}
				size := 4 * (3 + i%366) // 12 .. 1472 bytes
				if err := gen.GenFrame(size); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			for range window {
				select {
				case <-tokens:
				case <-deadline:
					t.Fatalf("last frames missing: checker %+v, client %+v, server %+v", check.Stats(), c.Stats(), s.Stats())
				}
			}
			st := check.Stats()
			if st.Frames != uint64(tc.frames) || st.Errors() != 0 {
				t.Fatalf("checker %+v, first error %v", st, check.FirstError())
			}
			for _, x := range []engine.Stats{s.Stats(), c.Stats()} {
				if x.KernelDrops+x.RingDrops+x.RxOversize+x.TxErrors+x.TxTimeouts != 0 {
					t.Fatalf("losses counted: %+v", x)
				}
			}
		})
	}
}
