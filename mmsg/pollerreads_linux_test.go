//go:build linux

package mmsg

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pollerEvents reads the events of uc's entry in the runtime's epoll set
// afresh from /proc.
func pollerEvents(t *testing.T, uc *net.UDPConn) uint32 {
	t.Helper()
	rc, err := uc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ev uint32
	var ok bool
	rc.Control(func(fd uintptr) { _, ev, _, ok = findPollerEntry(int(fd)) })
	if !ok {
		t.Skip("the runtime's epoll set does not show in /proc/self/fdinfo")
	}
	return ev
}

// TestBlockingReadsLeaveThePollerAlone checks that the blocking reads take
// the socket's read and write events out of the runtime's epoll set (so
// arriving datagrams and sends wake only the reading thread), and
// that ReadBatch puts them back: a datagram sent while it waits in the
// netpoller after blocking reads still wakes it.
func TestBlockingReadsLeaveThePollerAlone(t *testing.T) {
	ruc, r := blockingConn(t, 4, 20*time.Millisecond)
	before := pollerEvents(t, ruc)
	if before&unix.EPOLLIN == 0 || before&unix.EPOLLOUT == 0 {
		t.Fatalf("registered events %#x, want EPOLLIN and EPOLLOUT", before)
	}
	if err := onLockedThread(t, r, testTimeout, func() error {
		_, err := r.ReadBatchBlocking(recvBuffers(4, 64))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ev := pollerEvents(t, ruc); ev != before&^(pollerReadEvents|pollerWriteEvents) {
		t.Fatalf("events %#x during blocking reads, want %#x without the read and write events", ev, before)
	}

	s := listen(t, "udp4", "127.0.0.1:0")
	go func() {
		time.Sleep(50 * time.Millisecond) // let ReadBatch wait in the netpoller
		s.WriteToUDPAddrPort([]byte("after"), localAddr(ruc))
	}()
	setDeadline(t, ruc)
	in := recvBuffers(4, 64)
	n, err := r.ReadBatch(in)
	if err != nil || n != 1 || string(in[0].Buffers[0][:in[0].N]) != "after" {
		t.Fatalf("ReadBatch after blocking reads: %d, %v", n, err)
	}
	if ev := pollerEvents(t, ruc); ev != before {
		t.Errorf("events %#x after ReadBatch, want %#x as registered", ev, before)
	}
}

// TestWaitingSendKeepsWriteEvents checks that a send about to wait for
// room puts the write events back (the park hook the write path calls on
// EAGAIN), that they stay while it waits, even across a blocking read,
// and that the next blocking read after it takes them out again.
func TestWaitingSendKeepsWriteEvents(t *testing.T) {
	ruc, r := blockingConn(t, 4, 20*time.Millisecond)
	before := pollerEvents(t, ruc)
	read := func() {
		t.Helper()
		if err := onLockedThread(t, r, testTimeout, func() error {
			_, err := r.ReadBatchBlocking(recvBuffers(4, 64))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	quiet := before &^ (pollerReadEvents | pollerWriteEvents)
	read()
	if ev := pollerEvents(t, ruc); ev != quiet {
		t.Fatalf("events %#x during blocking reads, want %#x", ev, quiet)
	}
	r.rc.Control(r.wr.park) // what the write path does on EAGAIN
	r.wr.parked = true
	want := before &^ pollerReadEvents
	if ev := pollerEvents(t, ruc); ev != want {
		t.Fatalf("events %#x with a send waiting, want %#x", ev, want)
	}
	read()
	if ev := pollerEvents(t, ruc); ev != want {
		t.Fatalf("events %#x after a blocking read with a send waiting, want %#x", ev, want)
	}
	r.unpark()
	read()
	if ev := pollerEvents(t, ruc); ev != quiet {
		t.Fatalf("events %#x after the send, want %#x", ev, quiet)
	}
}
