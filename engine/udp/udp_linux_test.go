//go:build linux

package udp

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
)

// slowPath builds a veth pair whose A end sends through a token bucket of
// 8 kbit/s, so datagrams sent through it pile up in the queue, are charged
// to the sending socket, and fill its send buffer: the only way to make a
// UDP send wait. It returns side A, where the sockets must be opened, and
// an address on A's link with a fixed neighbour, so nothing waits on ARP
// (B drops the frames, which are addressed to another MAC). The pair is
// removed when the test ends, failed or not.
func slowPath(t *testing.T) (*testutils.Side, string) {
	t.Helper()
	testutils.RequireRoot(t)
	p := testutils.New(t, 1500)
	h, err := netlink.NewHandleAt(p.A.NS)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	dst := net.IPv4(10, 203, 0, 9).To4()
	mac := net.HardwareAddr{0x02, 0, 0, 0, 0, 0x09}
	route := &netlink.Route{LinkIndex: p.A.Index, Dst: &net.IPNet{IP: dst, Mask: net.CIDRMask(32, 32)}, Scope: netlink.SCOPE_LINK}
	if err := h.RouteAdd(route); err != nil {
		t.Fatalf("route to %v: %v", dst, err)
	}
	neigh := &netlink.Neigh{LinkIndex: p.A.Index, Family: unix.AF_INET, IP: dst, HardwareAddr: mac, State: netlink.NUD_PERMANENT}
	if err := h.NeighAdd(neigh); err != nil {
		t.Fatalf("neighbour %v: %v", dst, err)
	}
	const rate = 1000 // bytes a second: 8 kbit/s
	tbf := &netlink.Tbf{
		QdiscAttrs: netlink.QdiscAttrs{LinkIndex: p.A.Index, Handle: netlink.MakeHandle(1, 0), Parent: netlink.HANDLE_ROOT},
		Rate:       rate, Limit: 10_000_000, Buffer: netlink.Xmittime(rate, 1600),
	}
	if err := h.QdiscReplace(tbf); err != nil {
		t.Fatalf("token bucket on %s: %v", p.A.Link, err)
	}
	return &p.A, dst.String()
}

// clientIn opens a client on side's namespace.
func clientIn(t *testing.T, side *testutils.Side, host string, opts ...Option) *Client {
	t.Helper()
	var c *Client
	if err := side.Do(func() (err error) {
		c, err = NewClient(host, 9, false, opts...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTransmitTimeout fills a socket's send buffer behind a slow queue:
// sends then wait for the transmit timeout, fail with ErrTxTimeout, count
// TxTimeouts, and never retry forever; Close stays prompt.
func TestTransmitTimeout(t *testing.T) {
	testutils.Leak(t)
	side, dst := slowPath(t)
	for _, tr := range allTransports {
		t.Run(tr.String(), func(t *testing.T) {
			c := clientIn(t, side, dst, WithTransport(tr))
			defer c.Close()
			if _, err := socketsOf(c.ep).socks[0].mc.SetWriteBuffer(4096); err != nil {
				t.Fatal(err)
			}
			const timeout = 50 * time.Millisecond
			c.SetTimeout(uint32(timeout / time.Microsecond))
			f, err := c.AcceptReq(1000, true)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Release()
			f.SetPayload(1000)
			var took time.Duration
			for i := 0; ; i++ {
				start := time.Now()
				err := c.Send(f)
				took = time.Since(start)
				if err != nil {
					if !errors.Is(err, ErrTxTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("send %d: %v, want ErrTxTimeout", i, err)
					}
					break
				}
				if i > 1000 {
					t.Fatal("1000 sends into a full queue never waited")
				}
			}
			if took < timeout*8/10 || took > 20*timeout {
				t.Fatalf("the timed-out send took %v, timeout %v", took, timeout)
			}
			if st := c.Stats(); st.TxTimeouts != 1 {
				t.Fatalf("stats %+v: want one timeout", st)
			}
			if deadlineArms(c.ep) == 0 {
				t.Fatal("a send into a full socket timed out without arming a deadline")
			}
			// A batch fails the same way, counting every frame.
			if n, err := c.SendBatch([]engine.Frame{f, f, f}); n != 0 || !errors.Is(err, ErrTxTimeout) {
				t.Fatalf("SendBatch into a full buffer = %d, %v", n, err)
			}
			if st := c.Stats(); st.TxTimeouts != 4 {
				t.Fatalf("stats %+v: want four timeouts", st)
			}
			// AcceptFrame counts and marks instead of returning.
			c.AcceptFrame(f)
			if f.Error() != TxErrorCode || c.Stats().TxTimeouts != 5 {
				t.Fatalf("AcceptFrame: error %#x, stats %+v", f.Error(), c.Stats())
			}
			// Close while a send waits: both return promptly.
			c.SetTimeout(10_000_000)
			f.SetError(0)
			sent := make(chan error, 1)
			go func() { sent <- c.Send(f) }()
			time.Sleep(20 * time.Millisecond)
			closeWithin(t, time.Second, c.Close)
			select {
			case err := <-sent:
				if !errors.Is(err, engine.ErrClosed) {
					t.Fatalf("send blocked at Close returned %v, want ErrClosed", err)
				}
			case <-time.After(time.Second):
				t.Fatal("send blocked at Close did not return")
			}
		})
	}
}

// TestTxQueueCloseStuck: Close flushes the transmit queue for at most one
// transmit timeout when the socket cannot drain, and counts what it could
// not send.
func TestTxQueueCloseStuck(t *testing.T) {
	testutils.Leak(t)
	side, dst := slowPath(t)
	c := clientIn(t, side, dst, WithTxQueue(1024))
	if _, err := socketsOf(c.ep).socks[0].mc.SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	const timeout = 200 * time.Millisecond
	c.SetTimeout(uint32(timeout / time.Microsecond))
	const n = 500
	for range n {
		f, err := c.AcceptReq(1000, true)
		if err != nil {
			t.Fatal(err)
		}
		f.SetPayload(1000)
		c.AcceptFrame(f)
		f.Release()
	}
	start := time.Now()
	closeWithin(t, 3*timeout, c.Close)
	if took := time.Since(start); took > 2*timeout {
		t.Fatalf("Close took %v with a %v timeout", took, timeout)
	}
	st := c.Stats()
	if st.TxFrames+st.TxTimeouts+st.TxErrors != n || st.TxTimeouts == 0 {
		t.Fatalf("stats %+v: %d frames not all accounted for", st, n)
	}
	if c.AllocCount() != 0 {
		t.Fatalf("%d frames still held after Close", c.AllocCount())
	}
}

func TestBusyPollOption(t *testing.T) {
	testutils.Leak(t)
	s, err := NewServer(0, false, WithBusyPoll(50))
	if err != nil {
		t.Skipf("SO_BUSY_POLL refused (needs CAP_NET_ADMIN): %v", err)
	}
	defer s.Close()
	got := -1
	rc, err := socketsOf(s.ep).socks[0].uc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) {
		got, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BUSY_POLL)
	})
	if got != 50 {
		t.Fatalf("SO_BUSY_POLL = %d, want 50", got)
	}
}
