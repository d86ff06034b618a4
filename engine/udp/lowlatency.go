package udp

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"udpstream.dev/mmsg"
)

// WithLowLatency makes every receive goroutine own its OS thread and sleep
// in the receive system call itself, so the kernel wakes that thread
// directly when a datagram arrives, and the goroutine delivers the frames
// to the slaves at once. A slave that answers (an echo, a request-reply
// protocol) sends on the same thread, so a round trip involves no other
// thread and no goroutine hand-off. Without it a receive goroutine parks in
// Go's netpoller and is woken through the thread that polls: a second
// thread woken for every datagram a reply waits for (docs/latency.md has
// the figures).
//
// Choose it when replies wait for single datagrams: ping-pong, request and
// reply, control loops. For streams it spends less CPU per datagram than
// the netpoller, but on loopback its sender ran somewhat slower
// (docs/cost.md), so the netpoller stays the default there. What it costs:
//
//   - one OS thread per socket (WithReusePort queues), for the life of the
//     endpoint;
//   - one P per socket: Go does not know the thread is asleep, so the
//     sleeping goroutine keeps one of the GOMAXPROCS slots; other
//     goroutines get it back only when the runtime preempts the receive
//     goroutine (every 10 ms, and at once for a garbage collection) or
//     when the socket stays quiet for the wake period (5 ms). Raise
//     GOMAXPROCS to one more than the low-latency sockets (a P costs
//     nothing idle, and the threads sleep in the kernel, not on a CPU),
//     or expect other goroutines to wait that long;
//   - no CPU while idle: nothing spins.
//
// Frames are delivered inline on the receive goroutine, so WithRxQueue
// cannot be combined with it, nor can TransportXDP (whose receive path
// polls its rings). Everything else is as without it: the same frames, the
// same counters, and Close ends the receive goroutines at once.
// TransportNaive still takes one datagram per call (a recvmmsg of one
// message instead of the standard library's recvmsg). Sends are as
// without it: one try in the calling goroutine, no netpoller unless the
// socket buffer is full.
func WithLowLatency() Option {
	return func(c *endpointConfig) {
		c.lowLatency = true
		c.lockThread = true
	}
}

// WithLowLatencySpin is WithLowLatency whose receive threads, after each
// batch, keep trying the socket without sleeping for up to d (at most
// mmsg.MaxReadSpin, 10 ms) before they sleep in the kernel. A reply that
// comes back within d then costs no wake-up at all (docs/latency.md has
// what it gained on loopback). The price is
// a CPU kept fully busy for d after every datagram, so on a shared or
// small machine the spinning threads take time from everything else, the
// other end of the exchange included; d near the expected reply time is
// the useful range. 0 is WithLowLatency without spinning.
func WithLowLatencySpin(d time.Duration) Option {
	return func(c *endpointConfig) {
		c.lowLatency = true
		c.lockThread = true
		c.spin = d
	}
}

// lowLatencyErrors reports the settings WithLowLatency excludes.
func (c *endpointConfig) lowLatencyErrors() []error {
	if !c.lowLatency {
		return nil
	}
	var errs []error
	if c.spin < 0 || c.spin > mmsg.MaxReadSpin {
		errs = append(errs, fmt.Errorf("low-latency spin %v outside 0..%v", c.spin, mmsg.MaxReadSpin))
	}
	if c.transport == TransportXDP {
		errs = append(errs, errors.New("WithLowLatency applies to the socket transports, not TransportXDP"))
	}
	if c.rxQueue > 0 {
		errs = append(errs, errors.New("WithLowLatency delivers on the receive thread; it excludes WithRxQueue"))
	}
	return errs
}

// prepareLowLatency makes s's receives sleep in the kernel.
func (p *socketPath) prepareLowLatency(s *udpSocket) error {
	if !p.cfg.lowLatency {
		return nil
	}
	if err := s.mc.SetBlockingReads(mmsg.DefaultWakePeriod); err != nil {
		return err
	}
	return s.mc.SetReadSpin(p.cfg.spin)
}

// readBlocking is readMessages in low-latency mode: a recvmmsg batch (of
// one message for TransportNaive) that sleeps in the kernel. It returns
// 0, nil when the call woke without a datagram; the receive loop then
// simply calls again, and ends on the error Close makes the next call
// return.
func (p *socketPath) readBlocking(s *udpSocket, msgs []mmsg.Message) (int, error) {
	n, err := s.mc.ReadBatchBlocking(msgs)
	if n == 0 && err == nil {
		// Woken empty-handed: goroutines that a slave readied wait in
		// this P's queue while the thread sleeps, so let them run.
		runtime.Gosched()
	}
	return n, err
}
