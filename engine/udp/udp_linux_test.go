//go:build linux

package udp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
)

// ipCmd runs ip(8) or tc(8) and fails the test on error.
func ipCmd(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// slowNetns creates a network namespace holding a veth pair whose one end
// sends through a token bucket of 8 kbit/s, so datagrams sent through it
// pile up in the queue, are charged to the sending socket, and fill its
// send buffer: the only way to make a UDP send wait. It returns the
// namespace's name and the address to send to; the namespace is removed
// when the test ends, failed or not.
func slowNetns(t *testing.T) (string, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("creating a network namespace needs root")
	}
	for _, tool := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s (iproute2) is not installed", tool)
		}
	}
	ns := fmt.Sprintf("udpst-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)
	ipCmd(t, "ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ipCmd(t, "ip", "-n", ns, "link", "add", "va", "type", "veth", "peer", "name", "vb")
	ipCmd(t, "ip", "-n", ns, "addr", "add", "10.203.0.1/24", "dev", "va")
	for _, l := range []string{"lo", "va", "vb"} {
		ipCmd(t, "ip", "-n", ns, "link", "set", l, "up")
	}
	// A fixed neighbour, so nothing waits on ARP: packets go straight to
	// va's queue (and vb drops them when they finally leave).
	ipCmd(t, "ip", "-n", ns, "neigh", "add", "10.203.0.9", "lladdr", "02:00:00:00:00:09", "dev", "va", "nud", "permanent")
	ipCmd(t, "tc", "-n", ns, "qdisc", "add", "dev", "va", "root", "tbf", "rate", "8kbit", "burst", "1600", "limit", "10000000")
	return ns, "10.203.0.9"
}

// inNetns runs fn on a thread that has entered the namespace, so sockets it
// opens belong there.
func inNetns(t *testing.T, ns string, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		t.Fatalf("setns: %v", err)
	}
	defer func() {
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			panic(fmt.Sprintf("cannot return to the original network namespace: %v", err))
		}
	}()
	fn()
}

// TestTransmitTimeout fills a socket's send buffer behind a slow queue:
// sends then wait for the transmit timeout, fail with ErrTxTimeout, count
// TxTimeouts, and never retry forever; Close stays prompt.
func TestTransmitTimeout(t *testing.T) {
	testutils.Leak(t)
	ns, dst := slowNetns(t)
	for _, tr := range allTransports {
		t.Run(tr.String(), func(t *testing.T) {
			var c *Client
			inNetns(t, ns, func() {
				var err error
				c, err = NewClient(dst, 9, false, WithTransport(tr))
				if err != nil {
					t.Fatal(err)
				}
			})
			defer c.Close()
			if _, err := c.ep.socks[0].mc.SetWriteBuffer(4096); err != nil {
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
	ns, dst := slowNetns(t)
	var c *Client
	inNetns(t, ns, func() {
		var err error
		c, err = NewClient(dst, 9, false, WithTxQueue(1024))
		if err != nil {
			t.Fatal(err)
		}
	})
	if _, err := c.ep.socks[0].mc.SetWriteBuffer(4096); err != nil {
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
	rc, err := s.ep.socks[0].uc.SyscallConn()
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
