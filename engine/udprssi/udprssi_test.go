package udprssi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/packetizer"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/engine/udprssi"
	"udpstream.dev/internal/testutils"
)

// frameData is frame i of tDest d: Rogue PRBS where its size allows (a
// multiple of 4, at least 12 bytes), else a byte pattern.
func frameData(size, i, d int) []byte {
	b := make([]byte, size)
	if size%4 == 0 && size >= 12 {
		prbs.Fill(b, uint32(i), 32)
		return b
	}
	for k := range b {
		b[k] = byte(i + 13*k + 101*d)
	}
	return b
}

// checker verifies that frames on one tDest arrive once, in order,
// intact.
type checker struct {
	mu    sync.Mutex
	dest  int
	sizes []int
	next  int
	errs  int
	first string
	done  chan struct{}
}

func (c *checker) AcceptFrame(f engine.Frame) {
	b := make([]byte, f.Payload())
	f.ReadAt(b, 0)
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.next
	c.next++
	switch {
	case i >= len(c.sizes):
		c.fail(fmt.Sprintf("extra frame of %d bytes", len(b)))
	case f.Error() != 0 || !bytes.Equal(b, frameData(c.sizes[i], i, c.dest)):
		c.fail(fmt.Sprintf("frame %d: %d bytes (want %d), error %#x", i, len(b), c.sizes[i], f.Error()))
	}
	if c.next == len(c.sizes) {
		close(c.done)
	}
}

func (c *checker) fail(s string) {
	if c.errs == 0 {
		c.first = s
	}
	c.errs++
}

func TestStackPRBS(t *testing.T) {
	if testing.Short() {
		t.Skip("short: PRBS sweep of frame sizes under loss; the full run covers it")
	}
	sizes := []int{1, 5, 12, 100, 1440, 1441, 1472, 8972, 65536, 300000, 1000000}
	for _, v := range []int{1, 2} {
		for _, loss := range []float64{0, 0.01, 0.10} {
			t.Run(fmt.Sprintf("v%d/loss%v", v, loss), func(t *testing.T) { runStack(t, false, v, loss, sizes) })
		}
		t.Run(fmt.Sprintf("jumbo/v%d/loss0.01", v), func(t *testing.T) { runStack(t, true, v, 0.01, sizes) })
	}
}

func runStack(t *testing.T, jumbo bool, version int, loss float64, sizes []int) {
	testutils.Leak(t)
	o := udprssi.Options{Jumbo: jumbo, Packetizer: version, CheckCRC: true, Loss: loss, Seed: 7}
	srv, err := udprssi.NewServer(0, o)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	o.Seed = 8
	cl, err := udprssi.NewClient("127.0.0.1", srv.Port(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.WaitOpen(ctx); err != nil {
		t.Fatal(err)
	}
	checkers := make([]*checker, 4)
	for d := range 4 {
		checkers[d] = &checker{dest: d, sizes: sizes, done: make(chan struct{})}
		engine.Connect(srv.Application(uint8(d)), checkers[d])
	}
	start := time.Now()
	var wg sync.WaitGroup
	for d := range 4 {
		wg.Go(func() {
			for i, n := range sizes {
				f, _ := engine.NewPool().AcceptReq(n, true)
				f.WriteAt(frameData(n, i, d), 0)
				cl.Application(uint8(d)).AcceptFrame(f)
				if f.Error() != 0 {
					t.Errorf("tDest %d frame %d refused", d, i)
				}
				f.Release()
			}
		})
	}
	wg.Wait()
	for d, c := range checkers {
		select {
		case <-c.done:
		case <-time.After(60 * time.Second):
		}
		c.mu.Lock()
		next, errs, first := c.next, c.errs, c.first
		c.mu.Unlock()
		if next != len(sizes) {
			t.Fatalf("tDest %d: %d of %d frames; client %+v server %+v", d, next, len(sizes), cl.RSSI.Stats(), srv.RSSI.Stats())
		}
		if errs != 0 {
			t.Errorf("tDest %d: %d errors, first %s", d, errs, first)
		}
	}
	cs, ss, ps := cl.RSSI.Stats(), srv.RSSI.Stats(), srv.Packetizer.Stats()
	if cs.Resets+ss.Resets+cs.PeerResets+ss.PeerResets != 0 || ps.CRCErrors+ps.SequenceErrors+ps.MissingEOF+ps.BadSegments != 0 {
		t.Errorf("resets %d/%d, packetizer %+v", cs.Resets, ss.Resets, ps)
	}
	t.Logf("%d frames on 4 tDests in %v: %d segments, %d retransmits, %d injected losses",
		4*len(sizes), time.Since(start).Round(time.Millisecond), cs.TxSegments, cs.Retransmits, cl.InjectedLosses()+srv.InjectedLosses())
}

// MaxFrame reaches the packetizer: a bad bound is refused by it.
func TestMaxFrameOption(t *testing.T) {
	testutils.Leak(t)
	if _, err := udprssi.NewServer(0, udprssi.Options{MaxFrame: -1}); !errors.Is(err, packetizer.ErrOptions) {
		t.Fatalf("MaxFrame -1: %v", err)
	}
	srv, err := udprssi.NewServer(0, udprssi.Options{MaxFrame: 4096})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
}
