package iperf3

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"udpstream.dev/mmsg"
)

// PortCounters account for every datagram that reached a server's data
// socket: Datagrams = Data + Control + Foreign + Malformed + Outside +
// Truncated. Data counts datagrams of accepted streams while their test
// ran; Control the 4-byte connect handshakes, accepted or not; Foreign
// datagrams from an address no test has accepted (or a sending stream's
// address); Malformed datagrams of an accepted stream too short for its
// header; Outside datagrams of an accepted stream before its test started
// or after it ended; Truncated datagrams longer than the receive buffer.
type PortCounters struct {
	Datagrams, Data, Control, Foreign, Malformed, Outside, Truncated uint64
	// KernelDrops: datagrams the kernel dropped on the socket (buffer full).
	KernelDrops uint64
}

type portTally struct {
	datagrams, data, control, foreign, malformed, outside, truncated atomic.Uint64
}

// route says where datagrams from one client address go.
type route struct {
	rx *rxStream // nil for a stream the server sends on
}

// acceptWindow is one session's CREATE_STREAMS phase: the next want
// connect datagrams from new addresses are its streams.
type acceptWindow struct {
	want  int
	addrs []netip.AddrPort
	recv  int // the first recv accepted are receiving streams
	rx    []*rxStream
	done  chan struct{}
}

// demux routes a server's datagrams. One goroutine reads; sessions add
// and remove routes and open accept windows.
type demux struct {
	sock   *dataSock
	mu     sync.RWMutex
	routes map[netip.AddrPort]route
	window *acceptWindow
	tally  portTally
	idle   atomic.Uint64 // reads that emptied the socket's queue
	reads  atomic.Uint64 // reads returned
	done   atomic.Uint64 // reads accounted
}

func newDemux(sock *dataSock) *demux {
	return &demux{sock: sock, routes: make(map[netip.AddrPort]route)}
}

// readLoop reads until the socket closes.
func (d *demux) readLoop() {
	batch := sendBatch
	size := 65536
	if !d.sock.batched() {
		batch = 1
	}
	msgs := make([]mmsg.Message, batch)
	for i := range msgs {
		msgs[i].Buffers = [][]byte{make([]byte, size)}
	}
	for {
		n, err := d.sock.read(msgs)
		if err != nil {
			if isClosed(err) {
				return
			}
			time.Sleep(time.Millisecond) // a queued ICMP error: nothing to count, no spin on a lasting one
			continue
		}
		d.reads.Add(1)
		arrival := since(time.Now())
		for i := 0; i < n; i++ {
			d.message(&msgs[i], arrival)
		}
		if n < len(msgs) {
			d.idle.Add(1)
		}
		d.done.Add(1)
	}
}

// message accounts one received message (a GRO run holds several
// datagrams from one sender): one route lookup and, for a stream, one
// lock for the whole run.
func (d *demux) message(m *mmsg.Message, arrival float64) {
	k := m.Datagrams()
	d.tally.datagrams.Add(uint64(k))
	if m.Truncated {
		d.tally.truncated.Add(uint64(k))
		return
	}
	addr := netip.AddrPortFrom(m.Addr.Addr().Unmap(), m.Addr.Port())
	d.mu.RLock()
	r, known := d.routes[addr]
	w := d.window
	d.mu.RUnlock()
	if known && r.rx != nil {
		var v [3]uint64
		r.rx.mu.Lock()
		for j := 0; j < k; j++ {
			off, l, _ := mmsg.SegmentAt(m.N, m.SegmentSize, j)
			v[r.rx.addLocked(m.Buffers[0][off:off+l], arrival)]++
		}
		r.rx.mu.Unlock()
		d.tally.data.Add(v[rxData])
		d.tally.malformed.Add(v[rxMalformed])
		d.tally.outside.Add(v[rxOutside])
		return
	}
	for j := 0; j < k; j++ {
		off, l, _ := mmsg.SegmentAt(m.N, m.SegmentSize, j)
		d.unrouted(addr, m.Buffers[0][off:off+l], known, w)
	}
}

// datagram accounts one datagram (tests and benchmarks).
func (d *demux) datagram(addr netip.AddrPort, b []byte, arrival float64) {
	m := mmsg.Message{Buffers: [][]byte{b}, N: len(b), Addr: addr}
	d.message(&m, arrival)
}

// unrouted accounts a datagram from an address with no receiving stream:
// a connect datagram (taken by an open accept window if the address is
// new), or foreign.
func (d *demux) unrouted(addr netip.AddrPort, b []byte, known bool, w *acceptWindow) {
	if !IsConnectMsg(b) {
		d.tally.foreign.Add(1) // includes anything a sending stream's client sends
		return
	}
	d.tally.control.Add(1)
	if !known && w != nil {
		d.accept(w, addr)
		return
	}
}

// accept makes addr the window's next stream and answers it from the
// server port.
func (d *demux) accept(w *acceptWindow, addr netip.AddrPort) {
	d.mu.Lock()
	if _, dup := d.routes[addr]; dup || d.window != w || len(w.addrs) >= w.want {
		d.mu.Unlock()
		return
	}
	i := len(w.addrs)
	w.addrs = append(w.addrs, addr)
	r := route{}
	if i < w.recv {
		r.rx = w.rx[i]
	}
	d.routes[addr] = r
	full := len(w.addrs) == w.want
	if full {
		d.window = nil
	}
	d.mu.Unlock()
	reply := ConnectReply
	msg := []mmsg.Message{{Buffers: [][]byte{reply[:]}, Addr: addr}}
	_, _ = d.sock.write(msg) // a lost reply leaves the client to time out, as with iperf3
	if full {
		close(w.done)
	}
}

// open installs w as the accept window; only one session at a time may
// hold one (the caller serialises with its accept lock).
func (d *demux) open(w *acceptWindow) {
	d.mu.Lock()
	d.window = w
	d.mu.Unlock()
}

// cancel removes w if it is still open.
func (d *demux) cancel(w *acceptWindow) {
	d.mu.Lock()
	if d.window == w {
		d.window = nil
	}
	d.mu.Unlock()
}

// remove drops the routes of a finished session.
func (d *demux) remove(addrs []netip.AddrPort) {
	d.mu.Lock()
	for _, a := range addrs {
		delete(d.routes, a)
	}
	d.mu.Unlock()
}

// drain waits until the reader has emptied the socket's queue twice since
// the call (so whatever was queued when it was called has been counted),
// or until limit passes.
func (d *demux) drain(limit time.Duration) {
	start := d.idle.Load()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if d.idle.Load() >= start+2 {
			return
		}
		// An empty queue and every returned read accounted: nothing of
		// this test is left unseen (the sleep covers a read that has
		// returned from the kernel but not yet said so).
		if waiting, ok := queued(d.sock.uc); ok && !waiting {
			time.Sleep(time.Millisecond)
			if r := d.reads.Load(); d.done.Load() >= r {
				if waiting, _ := queued(d.sock.uc); !waiting {
					return
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
}

func (d *demux) counters() PortCounters {
	t := &d.tally
	return PortCounters{
		Datagrams: t.datagrams.Load(), Data: t.data.Load(), Control: t.control.Load(),
		Foreign: t.foreign.Load(), Malformed: t.malformed.Load(), Outside: t.outside.Load(),
		Truncated: t.truncated.Load(), KernelDrops: d.sock.kernelDrops(),
	}
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
