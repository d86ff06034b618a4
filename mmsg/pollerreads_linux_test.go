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
// the socket's read events out of the runtime's epoll set (so arriving
// datagrams wake only the reading thread) and keep its write events, and
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
	if ev := pollerEvents(t, ruc); ev&pollerReadEvents != 0 || ev&unix.EPOLLOUT == 0 || ev&unix.EPOLLET != before&unix.EPOLLET {
		t.Fatalf("events %#x during blocking reads, want %#x without the read events", ev, before)
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
