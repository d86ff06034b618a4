//go:build linux

package mmsg

import (
	"errors"
	"net"
	"os"
	"syscall"
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
	checkQuiet(t, pollerEvents(t, ruc), before)

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
	read()
	checkQuiet(t, pollerEvents(t, ruc), before)
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
	checkQuiet(t, pollerEvents(t, ruc), before)
}

// checkQuiet checks that events, of a registration first made as before,
// has neither read events nor write events beyond EPOLLOUT armed for one
// event, or that one event has come and gone (the kernel then shows only
// the flags EPOLLET and EPOLLONESHOT).
func checkQuiet(t *testing.T, events, before uint32) {
	t.Helper()
	armed := before&^(pollerReadEvents|pollerWriteEvents) | pollerOneShot
	spent := before&unix.EPOLLET | unix.EPOLLONESHOT
	if events != armed && events != spent {
		t.Fatalf("events %#x while the reads block, want %#x (EPOLLOUT for one event) or %#x (spent)", events, armed, spent)
	}
}

// TestSocketErrorDuringBlockingReads checks that a socket error that
// arrives while the reads block (an ICMP port unreachable on a connected
// socket) reaches the blocking read as ECONNREFUSED, and leaves nothing
// behind for a later ReadBatch: with the read and write events simply
// taken out, the runtime would see an event of EPOLLERR alone and fail
// that ReadBatch with "not pollable" instead of waiting.
func TestSocketErrorDuringBlockingReads(t *testing.T) {
	uc, c := dialClosedPort(t)
	if err := c.SetBlockingReads(20 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	read := func() error {
		return onLockedThread(t, c, testTimeout, func() error {
			_, err := c.ReadBatchBlocking(recvBuffers(4, 64))
			return err
		})
	}
	if err := read(); err != nil { // wakes empty-handed, events taken out
		t.Fatal(err)
	}
	if err := c.WriteOne(&Message{Buffers: [][]byte{[]byte("ping")}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the ICMP error, and the runtime's poll
	if err := read(); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("blocking read: %v, want ECONNREFUSED", err)
	}
	uc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := c.ReadBatch(recvBuffers(4, 64)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadBatch after the error: %v, want the deadline", err)
	}
}
