package iperf3

import (
	"crypto/rand"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"udpstream.dev/mmsg"
)

// sendBatch is how many messages a sender hands the kernel per call.
const sendBatch = 64

// gsoPerCall bounds the datagrams of one GSO send call (a few GSO
// buffers): on loopback the kernel delivers them all within the call,
// which holds the server's shared socket that long.
const gsoPerCall = 256

// sender writes one stream's datagrams, paced to a rate or as fast as the
// socket takes them, until stop is closed or the socket fails.
type sender struct {
	sock *dataSock
	dst  netip.AddrPort // zero on a connected socket
	size int
	wide bool
	rate float64 // bit/s, 0 unlimited
	gso  bool
	prbs bool // PRBS payloads, written per datagram
	tx   txCounters

	buf  []byte
	msgs []mmsg.Message
	segs int // datagrams per message
}

func newSender(sock *dataSock, dst netip.AddrPort, size int, wide bool, rate float64, gso bool) *sender {
	s := &sender{sock: sock, dst: dst, size: size, wide: wide, rate: rate, segs: 1}
	if gso && sock.gsoOK() {
		if n := mmsg.GSOSegments(size, mmsg.MaxPayloadIPv4, mmsg.MaxGSOSegments); n > 1 {
			s.gso, s.segs = true, n
		}
	}
	per := sendBatch // messages per call
	switch {
	case !sock.batched():
		per = 1
	case s.gso:
		per = max(1, gsoPerCall/s.segs)
	}
	total := per * s.segs
	s.buf = make([]byte, total*size)
	_, _ = rand.Read(s.buf[:size]) // one random payload, as iperf3 sends
	for i := 1; i < total; i++ {
		copy(s.buf[i*size:(i+1)*size], s.buf[:size])
	}
	s.msgs = make([]mmsg.Message, per)
	for i := range s.msgs {
		s.msgs[i].Buffers = make([][]byte, 1)
	}
	return s
}

// capacity is the most datagrams one write call carries.
func (s *sender) capacity() int { return len(s.msgs) * s.segs }

// run sends until stop closes.
func (s *sender) run(stop <-chan struct{}) {
	runPaced(stop, s.rate, s.size, s.capacity(), s.send, &s.tx.errors)
}

// runPaced calls send with the next counter and a batch size until stop
// closes: as fast as send returns with rate 0, else paced to rate bit/s
// of size-byte datagrams. Send errors other than a closed socket are
// counted and sending goes on, as iperf3 does.
func runPaced(stop <-chan struct{}, rate float64, size, capacity int, send func(base uint64, n int) (int, error), errs *atomic.Uint64) {
	start := time.Now()
	var sent uint64
	for {
		select {
		case <-stop:
			return
		default:
		}
		n := capacity
		if rate > 0 {
			due := uint64(rate*time.Since(start).Seconds()/float64(8*size)) + 1
			if due <= sent {
				wait := time.Duration(float64(8*size) / rate * float64(time.Second))
				if !sleep(stop, min(wait, 10*time.Millisecond)) {
					return
				}
				continue
			}
			n = int(min(uint64(n), due-sent))
		}
		k, err := send(sent, n)
		sent += uint64(k)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			errs.Add(1)
			if !errors.Is(err, syscall.ECONNREFUSED) && !sleep(stop, time.Millisecond) {
				return
			}
		}
	}
}

// send writes n datagrams numbered from base+1 and returns how many went.
func (s *sender) send(base uint64, n int) (int, error) {
	sec, usec := stamp(time.Now())
	hl := HeaderLen(s.wide)
	for i := 0; i < n; i++ {
		d := s.buf[i*s.size : (i+1)*s.size]
		PutHeader(d, sec, usec, base+uint64(i)+1, s.wide)
		if s.prbs {
			fillPRBS(d[hl:], base+uint64(i)+1)
		}
	}
	nm := 0
	for off := 0; off < n; off += s.segs {
		k := min(s.segs, n-off)
		m := &s.msgs[nm]
		m.Buffers[0] = s.buf[off*s.size : (off+k)*s.size]
		m.Addr = s.dst
		m.SegmentSize = 0
		if s.gso && k > 1 {
			m.SegmentSize = s.size
		}
		nm++
	}
	w, err := s.sock.write(s.msgs[:nm])
	done := 0
	for i := 0; i < w; i++ {
		done += len(s.msgs[i].Buffers[0]) / s.size
	}
	s.tx.packets.Add(uint64(done))
	s.tx.bytes.Add(uint64(done * s.size))
	return done, err
}

// sleep waits d or until stop closes; it reports false when stopped.
func sleep(stop <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}
