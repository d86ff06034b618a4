//go:build linux

package udp_test

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/engine/udp"
	"udpstream.dev/internal/testutils"
	"udpstream.dev/xdp"
)

// TestXDPServerPRBS streams Rogue PRBS frames from a socket client (mmsg)
// in namespace A to an AF_XDP server in namespace B, which checks them and
// echoes them through its Slave side; the client checks the echoes. A
// window of frames in flight makes the run lossless by construction, so
// any loss, reordering or corruption is an engine fault. MTU 9000 with
// 8972-byte frames exercises multi-buffer receive (three chunks per
// datagram, one frame of three segments) and transmit (one packet of three
// descriptors, headers written in front of the received payload).
func TestXDPServerPRBS(t *testing.T) {
	cases := []struct {
		mtu    int
		jumbo  bool
		wire   bool // checksum offload off: full UDP checksums both ways
		frames int
		queues bool // WithRxQueue and WithTxQueue on the server
	}{
		{1500, false, false, 50000, false},
		{1500, false, true, 20000, false},
		{1500, false, false, 20000, true},
		{9000, true, true, 10000, false},
		{9000, true, false, 5000, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("mtu%d/wire=%v/queues=%v", tc.mtu, tc.wire, tc.queues), func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			p := xdpPair(t, tc.mtu, tc.wire)
			var opts []udp.Option
			if tc.queues {
				opts = append(opts, udp.WithRxQueue(512), udp.WithTxQueue(512))
			}
			runXDPPRBS(t, p, tc.jumbo, tc.frames, tc.wire, opts...)
		})
	}
}

// xdpPair makes a veth pair between two new namespaces (B hosts AF_XDP);
// wire turns the checksum offloads off on both ends.
func xdpPair(t *testing.T, mtu int, wire bool) *testutils.Pair {
	t.Helper()
	testutils.RequireRoot(t)
	if wire {
		return testutils.NewWire(t, mtu)
	}
	return testutils.New(t, mtu)
}

func runXDPPRBS(t *testing.T, p *testutils.Pair, jumbo bool, frames int, wire bool, opts ...udp.Option) {
	const window = 256
	var srv *udp.Server
	if err := p.B.Do(func() error {
		var err error
		srv, err = udp.NewServer(0, jumbo, append([]udp.Option{udp.WithTransport(udp.TransportXDP),
			udp.WithXDP(p.B.Link, 0, xdp.ModeAuto), udp.WithPoolSize(4096)}, opts...)...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	engine.Connect(srv, srv) // primary: echo, runs last
	srvCheck, err := prbs.NewChecker(32)
	if err != nil {
		t.Fatal(err)
	}
	engine.Connect(srv, srvCheck)

	var cli *udp.Client
	if err := p.A.Do(func() error {
		var err error
		cli, err = udp.NewClient(p.B.Addr4.String(), srv.Port(), jumbo)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if !cli.SetRxBufferCount(4 * window) {
		t.Fatal("client receive buffer not granted")
	}
	max := srv.MaxPayload()
	check := pumpPRBS(t, cli, window, frames,
		func(i int) int {
			if i%4 == 0 {
				return max
			}
			return 4 * (3 + (i*97)%(max/4-2)) // a sweep of sizes between the full ones
		},
		func() string {
			return fmt.Sprintf("server checker %+v\nclient %+v\nserver %+v\nA: %s\nB: %s",
				srvCheck.Stats(), cli.Stats(), srv.Stats(), p.A.Describe(), p.B.Describe())
		})
	for name, c := range map[string]*prbs.Checker{"server": srvCheck, "client": check} {
		if st := c.Stats(); st.Frames != uint64(frames) || st.Errors() != 0 {
			t.Fatalf("%s checker %+v, first error %v", name, st, c.FirstError())
		}
	}
	// Transmitted frames are counted once the kernel took them, which with
	// a transmit queue may be just after the client received the last.
	st := srv.Stats()
	for end := time.Now().Add(2 * time.Second); st.TxFrames < uint64(frames) && time.Now().Before(end); st = srv.Stats() {
		time.Sleep(time.Millisecond)
	}
	t.Logf("server: mode %s multi-buffer %v, %d frames, %d offloaded checksums, %d copies", st.XDP.Mode, st.XDP.MultiBuffer,
		st.RxFrames, st.XDP.RxChecksumOffloaded, st.XDP.TxCopies)
	if st.RxFrames != uint64(frames) || st.TxFrames != uint64(frames) {
		t.Fatalf("server counted rx %d tx %d of %d: %+v", st.RxFrames, st.TxFrames, frames, st)
	}
	if st.XDP.RxMalformed+st.XDP.RxDropped+st.XDP.RingFull+st.XDP.FillEmpty+st.XDP.TxInvalid+st.TxErrors+st.TxTimeouts != 0 {
		t.Fatalf("losses counted: %+v", st)
	}
	if st.XDP.Mode != xdp.ModeNativeCopy.String() || st.XDP.MultiBuffer != jumbo {
		t.Fatalf("mode %q multi-buffer %v on a veth with jumbo=%v", st.XDP.Mode, st.XDP.MultiBuffer, jumbo)
	}
	// With offload every checksum field holds the pseudo-header sum; with
	// real checksums about one in 65536 equals it by chance.
	if off := st.XDP.RxChecksumOffloaded; wire && off > uint64(frames/1000+1) || !wire && off != uint64(frames) {
		t.Fatalf("%d of %d datagrams with offloaded checksums, with checksum offload on the sender %v", off, frames, !wire)
	}
	if st.XDP.TxCopies != 0 {
		t.Fatalf("echoes were copied (%d), not sent in place", st.XDP.TxCopies)
	}
}
