//go:build linux

package mmsg

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"udpstream.dev/internal/testutils"
)

// blockingConn opens a loopback socket prepared for blocking reads with
// the given wake period.
func blockingConn(t *testing.T, batch int, wake time.Duration) (*net.UDPConn, *Conn) {
	t.Helper()
	uc := listen(t, "udp4", "127.0.0.1:0")
	c := wrap(t, uc, batch)
	if err := c.SetBlockingReads(wake); err != nil {
		t.Fatal(err)
	}
	return uc, c
}

// onLockedThread runs fn on a goroutine locked to its OS thread, as the
// blocking reads require, and returns its error once it returns, or fails
// the test after limit (releasing fn by closing c).
func onLockedThread(t *testing.T, c *Conn, limit time.Duration, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done <- fn()
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		c.Close()
		<-done
		t.Fatalf("blocking read still running after %v", limit)
		return nil
	}
}

// TestReadBatchBlocking checks that a blocking batch read returns the same
// datagrams, sources and sizes as the netpoller's, several per call once
// they are queued, and allocates nothing in steady state.
func TestReadBatchBlocking(t *testing.T) {
	ruc, r := blockingConn(t, 8, DefaultWakePeriod)
	suc := listen(t, "udp4", "127.0.0.1:0")
	s := wrap(t, suc, 8)
	setDeadline(t, suc)
	out := make([]Message, 5)
	for i := range out {
		out[i] = Message{Buffers: [][]byte{testutils.Pattern(uint32(i), 100+i)}, Addr: localAddr(ruc)}
	}
	if n, err := s.WriteBatch(out); n != len(out) || err != nil {
		t.Fatalf("WriteBatch = %d, %v", n, err)
	}
	in := recvBuffers(8, 256)
	var got []datagram
	err := onLockedThread(t, r, testTimeout, func() error {
		for len(got) < len(out) {
			n, err := r.ReadBatchBlocking(in)
			if err != nil {
				return err
			}
			for _, m := range in[:n] {
				got = append(got, datagram{from: m.Addr, data: append([]byte(nil), m.Buffers[0][:m.N]...)})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range got {
		if d.from != localAddr(suc) || len(d.data) != 100+i || !testutils.MatchesPattern(d.data, uint32(i)) {
			t.Errorf("datagram %d: %d bytes from %v, want %d bytes of pattern %d from %v", i, len(d.data), d.from, 100+i, i, localAddr(suc))
		}
	}
	var rerr error
	allocs := 0.0
	onLockedThread(t, r, testTimeout, func() error {
		allocs = testing.AllocsPerRun(100, func() {
			if err := s.WriteOne(&out[0]); err != nil {
				rerr = err
			}
			for {
				n, err := r.ReadBatchBlocking(in)
				if n > 0 || err != nil {
					rerr = errors.Join(rerr, err)
					return
				}
			}
		})
		return nil
	})
	if rerr != nil || allocs != 0 {
		t.Errorf("steady state: %.1f allocations per write and blocking read (error %v)", allocs, rerr)
	}
}

// TestBlockingReadNeedsSetup checks that the blocking reads refuse a Conn
// that was not prepared, rather than spin on a non-blocking socket.
func TestBlockingReadNeedsSetup(t *testing.T) {
	c := wrap(t, listen(t, "udp4", "127.0.0.1:0"), 4)
	if _, err := c.ReadBatchBlocking(recvBuffers(4, 64)); !errors.Is(err, errNotBlocking) {
		t.Errorf("ReadBatchBlocking without SetBlockingReads: %v", err)
	}
	if err := c.SetBlockingReads(0); err == nil {
		t.Error("SetBlockingReads(0) accepted")
	}
}

// TestBlockingReadWakes checks that a blocking read on a quiet socket
// returns empty-handed, at the latest after about the wake period.
func TestBlockingReadWakes(t *testing.T) {
	_, c := blockingConn(t, 4, 20*time.Millisecond)
	start := time.Now()
	var n int
	err := onLockedThread(t, c, testTimeout, func() error {
		var err error
		n, err = c.ReadBatchBlocking(recvBuffers(4, 64))
		return err
	})
	took := time.Since(start)
	if n != 0 || err != nil {
		t.Fatalf("quiet socket: %d, %v; want 0, nil", n, err)
	}
	// The runtime's preemption signal may end the sleep early.
	if took > 2*time.Second {
		t.Errorf("woke after %v with a 20ms wake period", took)
	}
}

// TestCloseWakesBlockingReader checks that Conn.Close ends a blocking read
// at once, long before its wake period, on an unconnected and on a
// connected socket, and that the read then reports net.ErrClosed.
func TestCloseWakesBlockingReader(t *testing.T) {
	for _, connected := range []bool{false, true} {
		var uc *net.UDPConn
		var err error
		if connected {
			uc, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:9")))
		} else {
			uc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		}
		if err != nil {
			t.Fatal(err)
		}
		c := wrap(t, uc, 8)
		if err := c.SetBlockingReads(time.Minute); err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		closeTook := make(chan time.Duration, 1)
		err = onLockedThread(t, c, 10*time.Second, func() error {
			go func() {
				<-started
				time.Sleep(50 * time.Millisecond) // let the read fall asleep
				start := time.Now()
				c.Close()
				closeTook <- time.Since(start)
			}()
			close(started)
			for {
				n, err := c.ReadBatchBlocking(recvBuffers(8, 64))
				if n != 0 || err != nil {
					return err
				}
			}
		})
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("connected %v: blocking read after Close: %v, want net.ErrClosed", connected, err)
		}
		if took := <-closeTook; took > time.Second {
			t.Errorf("connected %v: Close took %v", connected, took)
		}
		if _, err := c.ReadBatchBlocking(recvBuffers(1, 64)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocking read on a closed Conn: %v", err)
		}
	}
}

// TestBlockingReadLetsGCStop checks the hazard of a raw system call that
// sleeps: the goroutine keeps its P, so a stop-the-world waits for it. The
// runtime's preemption signal must end the sleep (SO_RCVTIMEO makes the
// kernel return EINTR instead of restarting the call), so a collection
// finishes long before the minute-long wake period. Were it to hang, the
// whole process would stop with it, so the check runs in a child process
// that the test kills after a bound.
func TestBlockingReadLetsGCStop(t *testing.T) {
	if os.Getenv(gcChildEnv) == "1" {
		gcWithBlockingReader(t)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestBlockingReadLetsGCStop$", "-test.v")
	cmd.Env = append(os.Environ(), gcChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("runtime.GC with a blocking reader did not finish within 10s:\n%s", out)
	}
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

// gcChildEnv marks the child process of TestBlockingReadLetsGCStop.
const gcChildEnv = "MMSG_TEST_GC_CHILD"

func gcWithBlockingReader(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	_, c := blockingConn(t, 4, time.Minute)
	asleep := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		close(asleep)
		for {
			if _, err := c.ReadBatchBlocking(recvBuffers(4, 64)); err != nil {
				done <- err
				return
			}
		}
	}()
	<-asleep
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	runtime.GC()
	took := time.Since(start)
	t.Logf("a collection with a blocking reader took %v", took)
	if took > 5*time.Second {
		t.Errorf("runtime.GC waited %v for a blocking reader", took)
	}
	c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Errorf("reader ended with %v", err)
	}
}

// TestOtherCallsStayNonBlocking checks that a socket made blocking for
// the blocking reads still gives ReadBatch its netpoller wait: the read
// deadline ends it, instead of the kernel's wake period.
func TestOtherCallsStayNonBlocking(t *testing.T) {
	uc, c := blockingConn(t, 4, 10*time.Second)
	if err := uc.SetReadDeadline(time.Now().Add(30 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.ReadBatch(recvBuffers(4, 64))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("ReadBatch: %v, want deadline exceeded", err)
		}
	case <-time.After(5 * time.Second):
		c.Close() // the shutdown releases the read
		<-done
		t.Error("ReadBatch on a socket made blocking still waiting 5s after its deadline")
	}
}

// TestReadSpin checks the spinning phase of the blocking reads: its bounds,
// a datagram that arrives while it spins, and a quiet socket, where the
// read sleeps after the spin and wakes after the wake period.
func TestReadSpin(t *testing.T) {
	ruc, r := blockingConn(t, 4, 30*time.Millisecond)
	for _, d := range []time.Duration{-1, MaxReadSpin + 1} {
		if err := r.SetReadSpin(d); err == nil {
			t.Errorf("SetReadSpin(%v) accepted", d)
		}
	}
	if err := r.SetReadSpin(2 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	s := listen(t, "udp4", "127.0.0.1:0")
	in := recvBuffers(4, 256)
	var n int
	err := onLockedThread(t, r, testTimeout, func() error {
		go func() {
			time.Sleep(200 * time.Microsecond)
			s.WriteToUDPAddrPort(testutils.Pattern(3, 50), localAddr(ruc))
		}()
		for n == 0 {
			var err error
			if n, err = r.ReadBatchBlocking(in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || n != 1 || in[0].N != 50 || !testutils.MatchesPattern(in[0].Buffers[0][:50], 3) {
		t.Fatalf("spinning read: %d datagrams (%d bytes), %v", n, in[0].N, err)
	}
	start := time.Now()
	err = onLockedThread(t, r, testTimeout, func() error {
		var err error
		n, err = r.ReadBatchBlocking(in)
		return err
	})
	// The runtime's preemption may end the sleep early, never the spin.
	if took := time.Since(start); n != 0 || err != nil || took < 2*time.Millisecond || took > 2*time.Second {
		t.Errorf("quiet socket with a 2ms spin: %d, %v after %v; want 0, nil after the spin and at most the 30ms wake period", n, err, took)
	}
}
