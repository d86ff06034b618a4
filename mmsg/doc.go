// Package mmsg moves UDP datagrams between the Linux kernel and buffers the
// caller owns, many datagrams per system call.
//
// It is the batch layer under the UDP server and client of package
// engine/udp and knows nothing of frames: it fills and drains caller-owned
// byte slices and reports sizes, addresses and flags.
//
// # Paths
//
// A [Conn] wraps a *net.UDPConn (IPv4 or IPv6) and offers three ways to move
// datagrams, from slowest to fastest:
//
//   - [Conn.WriteOne] and [Conn.TryWriteOne]: one datagram per sendmsg
//     call, for a sender that has one datagram at a time.
//   - [Conn.ReadBatch] / [Conn.WriteBatch]: up to the batch size given to
//     [NewConn] datagrams per recvmmsg/sendmmsg call.
//   - UDP segmentation offload: a [Message] whose SegmentSize is set is sent
//     as one buffer that the kernel cuts into equal datagrams (GSO, Linux
//     4.18+), and a reader that called [Conn.EnableGRO] receives runs of
//     equal datagrams from one sender as one buffer plus the segment size
//     (GRO, Linux 5.0+). [Message.Datagrams] and [SegmentAt] split such a
//     buffer back into datagrams; [GSOSegments] and [GSOSend] plan how many
//     datagrams one GSO send may carry.
//
// The fixed cost of each system call is what these paths amortise;
// BenchmarkLoopback compares them on loopback.
//
// # Blocking and closing
//
// I/O goes through the connection's syscall.RawConn, so the Go netpoller
// parks an idle reader or a writer facing a full socket buffer, read and
// write deadlines set on the *net.UDPConn apply, and closing the connection
// wakes a blocked call, which then returns an error matching net.ErrClosed.
//
// A goroutine locked to its OS thread may instead sleep in the receive
// system call itself ([Conn.SetBlockingReads], [Conn.ReadBatchBlocking]):
// the kernel then wakes that thread directly instead of the thread that
// polls, one thread wake-up less per datagram, which matters when a reply
// waits for each datagram. The thread keeps its P while it sleeps; the
// socket's receive timeout lets the runtime's preemption signal and the
// wake period end the sleep, and [Conn.Close] ends it at once.
// [Conn.SetReadSpin] adds a bounded spin before each sleep. While the reads
// sleep in the kernel, the socket's read events are taken out of the
// runtime's epoll set, so arriving datagrams do not also wake a runtime
// thread waiting in epoll_wait; [Conn.ReadBatch] puts them back.
//
// # Allocation
//
// Message headers, iovecs, address storage and control-message buffers are
// built once per Conn and reused; addresses are decoded into netip.AddrPort
// and control messages are walked in place. In steady state neither reading
// nor writing allocates. Error returns may allocate.
//
// # Errors
//
// Errors from the kernel wrap the errno, so a caller can test for them with
// errors.Is: syscall.ECONNREFUSED (an ICMP port-unreachable answered an
// earlier datagram of a connected socket), syscall.EMSGSIZE (datagram too
// large), os.ErrDeadlineExceeded and net.ErrClosed. None of them leaves the
// Conn unusable.
//
// # Concurrency
//
// A Conn serves one reader goroutine and one writer goroutine at the same
// time: ReadBatch owns the receive state; WriteBatch, WriteOne and
// TryWriteOne share the send state. The counters and state queries
// ([Conn.KernelDrops], [Conn.GSOEnabled]) may be called from any goroutine.
package mmsg
