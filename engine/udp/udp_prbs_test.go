package udp_test

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/engine/udp"
)

// tokenSlave returns one flow-control token per frame it sees.
type tokenSlave struct{ tokens chan struct{} }

func (s tokenSlave) AcceptFrame(engine.Frame) { s.tokens <- struct{}{} }

// pumpPRBS sends frames PRBS frames through cli, whose peer echoes them,
// with at most window frames in flight: the token slave is the primary, so
// it runs last and a token comes back only after the checker has seen the
// echo. That makes the stream lossless by construction. size gives frame
// i's size; describe adds the endpoints' state to a failure. It returns the
// checker of the echoes once every frame is back.
func pumpPRBS(t *testing.T, cli *udp.Client, window, frames int, size func(i int) int, describe func() string) *prbs.Checker {
	t.Helper()
	check, err := prbs.NewChecker(32)
	if err != nil {
		t.Fatal(err)
	}
	tokens := make(chan struct{}, window)
	engine.Connect(cli, tokenSlave{tokens})
	engine.Connect(cli, check)
	gen, err := prbs.NewGenerator(32)
	if err != nil {
		t.Fatal(err)
	}
	gen.SetSequence(1)
	engine.Connect(gen, cli)
	for range window {
		tokens <- struct{}{}
	}
	deadline := time.After(60 * time.Second)
	for i := range frames {
		select {
		case <-tokens:
		case <-deadline:
			t.Fatalf("stalled after %d frames: checker %+v\n%s", i, check.Stats(), describe())
		}
		if err := gen.GenFrame(size(i)); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	for range window {
		select {
		case <-tokens:
		case <-deadline:
			t.Fatalf("last frames missing: checker %+v\n%s", check.Stats(), describe())
		}
	}
	return check
}

// TestPRBSRoundTrip streams Rogue PRBS frames of varying size client ->
// server -> client and checks that every one comes back, in order and
// intact. A window of frames in flight (credit returned per echo) and large
// receive buffers make the run lossless by construction, so any loss,
// reordering or corruption is an engine fault.
func TestPRBSRoundTrip(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	defer goleak.VerifyNone(t, opt)
	frames := 100_000
	if testing.Short() {
		t.Log("short: 2000 frames a path (each size five times) instead of 100000")
		frames = 2_000
	}
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
		opts   []udp.Option
	}{
		{"mmsg", frames, []udp.Option{udp.WithTransport(udp.TransportMmsg)}},
		{"gro+txqueue", short, []udp.Option{udp.WithTransport(udp.TransportGRO), udp.WithTxQueue(1024)}},
		{"naive+rxqueue", short, []udp.Option{udp.WithTransport(udp.TransportNaive), udp.WithRxQueue(1024)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := udp.NewServer(0, false, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			engine.Connect(s, s) // echo
			c, err := udp.NewClient("127.0.0.1", s.Port(), false, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if !s.SetRxBufferCount(4*window) || !c.SetRxBufferCount(4*window) {
				t.Fatal("receive buffers not granted")
			}
			check := pumpPRBS(t, c, window, tc.frames,
				func(i int) int { return 4 * (3 + i%366) }, // 12 .. 1472 bytes
				func() string { return fmt.Sprintf("client %+v\nserver %+v", c.Stats(), s.Stats()) })
			st := check.Stats()
			if st.Frames != uint64(tc.frames) || st.Errors() != 0 {
				t.Fatalf("checker %+v, first error %v", st, check.FirstError())
			}
			for _, x := range []udp.Stats{s.Stats(), c.Stats()} {
				if x.KernelDroppedBuffers+x.RingDrops+x.RxOversize+x.TxErrors+x.TxTimeouts != 0 {
					t.Fatalf("losses counted: %+v", x)
				}
			}
		})
	}
}
