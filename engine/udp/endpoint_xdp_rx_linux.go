//go:build linux

package udp

import (
	"errors"
	"os"
	"sync"
	"time"

	"udpstream.dev/engine/internal/poolx"
	"udpstream.dev/xdp"
)

// xdpStarveRetry is how often the receive goroutine retries to stock the
// fill ring while the pool is exhausted (slaves hold every buffer): no
// datagram can arrive to wake it then, so it sets a read deadline. It is
// the only timed wake-up, and only in that state.
const xdpStarveRetry = time.Millisecond

// xdpRxPkt is one packet of a receive batch, classified before delivery.
type xdpRxPkt struct {
	first, count int // its descriptors in the batch
	ok           bool
	pk           xdp.Packet
}

// xdpRx is the receive goroutine's scratch space, allocated once.
type xdpRx struct {
	descs  []xdp.Desc
	bufs   []*poolx.Buffer // per descriptor: its chunk's buffer, nil if bogus
	pkts   []xdpRxPkt
	frags  [][]byte
	ws     []poolx.Window
	refill []uint64 // chunk addresses waiting for the fill ring
	onRing int      // chunks the kernel holds
	starve bool     // a read deadline is armed to retry stocking
	pc     peerCache
	t      rxTally
	bad    uint64 // malformed, this batch
	offl   uint64 // checksum left to offload, this batch
}

// rxLoop is the receive goroutine: receive a batch of descriptors, turn
// the packets into frames over their chunks, deliver them, give the chunks
// (or fresh buffers, for chunks a slave kept) back to the fill ring.
func (x *xdpPath) rxLoop(wg *sync.WaitGroup) {
	defer wg.Done()
	if x.rxs.rxq != nil {
		defer x.rxs.rxq.Close()
	}
	defer x.lockThread()()
	n := max(x.cfg.batch, xdpMaxRxDescs)
	r := &xdpRx{
		descs:  make([]xdp.Desc, n),
		bufs:   make([]*poolx.Buffer, n),
		pkts:   make([]xdpRxPkt, 0, n),
		frags:  make([][]byte, 0, xdpMaxRxDescs),
		ws:     make([]poolx.Window, 0, xdpMaxRxDescs),
		refill: make([]uint64, 0, 2*x.rings.posted),
		onRing: x.rings.posted,
	}
	// Only a closed socket ends the loop: until then the kernel may write
	// into the chunks on the fill ring, so they must not go back to the
	// pool.
	defer x.releaseHeld()
	for {
		x.stock(r)
		got, err := x.sock.ReceiveWait(r.descs)
		if err != nil {
			if errors.Is(err, xdp.ErrClosed) {
				return
			}
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				x.rxs.rx.errors.Add(1)
				if log := x.rx.log; log.allow(logRxError) {
					log.l.Warn("xdp: receive failed, continuing", "err", err, "suppressed", log.takeSuppressed(logRxError))
				}
			}
			continue
		}
		r.onRing -= got
		x.classify(r, got)
		x.publish(r)
		x.deliver(r)
		x.recycle(r, got)
		if x.txOut.Load() > 0 && x.txr.txMu.TryLock() {
			x.reap()
			x.txr.txMu.Unlock()
		}
	}
}

// stock tops the fill ring up to its share of the pool and hands the kernel
// what is waiting. When the pool has nothing left it arms a read deadline
// so that the loop comes back to try again.
func (x *xdpPath) stock(r *xdpRx) {
	for want := x.rings.posted - r.onRing - len(r.refill); want > 0; want-- {
		b, err := px.AllocBuffer(x.pool)
		if err != nil {
			break
		}
		if b.Index < 0 {
			b.Release() // a transient heap buffer: not UMEM
			break
		}
		x.held[b.Index] = true
		r.refill = append(r.refill, uint64(b.Offset()))
	}
	if len(r.refill) > 0 {
		placed, _ := x.sock.Fill(r.refill) // a closed socket shows in ReceiveWait
		r.onRing += placed
		r.refill = r.refill[:copy(r.refill, r.refill[placed:])]
	}
	short := r.onRing < x.rings.posted
	switch {
	case short:
		x.sock.SetReadDeadline(time.Now().Add(xdpStarveRetry))
	case r.starve:
		x.sock.SetReadDeadline(time.Time{})
	}
	r.starve = short
}

// chunkBuffer returns the buffer of the chunk a received descriptor points
// into, or nil for a descriptor that does not lie in a chunk the loop gave
// the kernel (which a correct kernel never returns).
func (x *xdpPath) chunkBuffer(d xdp.Desc) *poolx.Buffer {
	base := d.Addr &^ (xdpChunk - 1)
	if d.Addr+uint64(d.Len) > base+xdpChunk || base >= uint64(len(x.umem)) {
		return nil
	}
	b, err := px.BufferAt(x.pool, int(base))
	if err != nil || !x.held[b.Index] {
		return nil
	}
	return b
}

// classify parses every packet of the batch and decides its fate, counting
// it in the batch tally.
func (x *xdpPath) classify(r *xdpRx, got int) {
	r.pkts = r.pkts[:0]
	for i, rest := 0, r.descs[:got]; len(rest) > 0; {
		var pkt []xdp.Desc
		pkt, rest = xdp.NextPacket(rest)
		r.pkts = append(r.pkts, xdpRxPkt{first: i, count: len(pkt)})
		p := &r.pkts[len(r.pkts)-1]
		bogus := false
		for k := i; k < i+len(pkt); k++ {
			r.bufs[k] = x.chunkBuffer(r.descs[k])
			bogus = bogus || r.bufs[k] == nil
		}
		if bogus {
			x.rxs.rx.errors.Add(1)
		} else {
			x.judge(r, p)
		}
		i += len(pkt)
	}
}

// judge parses one packet and applies the endpoint's rules to it.
func (x *xdpPath) judge(r *xdpRx, p *xdpRxPkt) {
	rules := x.rx
	if !x.parse(r, p) {
		r.bad++
		return
	}
	n := p.pk.PayloadLen
	v := rules.verdict(true, false, n, p.pk.Src())
	if v == rxAccepted && rules.client && p.pk.Src() != rules.remote {
		v = rxRejected // as a connected socket would not see it
	}
	r.t.count(v, 1, n)
	p.ok = v == rxAccepted
}

// parse locates the UDP payload and checks the packet in one pass: every
// header and length, the IPv4 header checksum and the UDP checksum, which
// is verified unless it is zero (IPv4: none) or holds the pseudo-header
// sum a sender using checksum offload leaves (counted as offloaded).
func (x *xdpPath) parse(r *xdpRx, p *xdpRxPkt) bool {
	const opts = xdp.AcceptPartialUDPChecksum
	d := r.descs[p.first]
	var err error
	if p.count == 1 {
		err = xdp.Parse(x.umem[d.Addr:d.Addr+uint64(d.Len):d.Addr+uint64(d.Len)], &p.pk, opts)
	} else {
		r.frags = r.frags[:0]
		for k := p.first; k < p.first+p.count; k++ {
			dk := r.descs[k]
			r.frags = append(r.frags, x.umem[dk.Addr:dk.Addr+uint64(dk.Len)])
		}
		err = xdp.ParseFrags(r.frags, &p.pk, opts)
	}
	if err == nil && p.pk.PartialChecksum {
		r.offl++
	}
	return err == nil
}

// publish makes the batch's counts visible before its frames are delivered.
func (x *xdpPath) publish(r *xdpRx) {
	if r.bad != 0 {
		x.rxc.malformed.Add(r.bad)
		if log := x.rx.log; log.allow(logRxMalformed) {
			log.l.Warn("xdp: dropped malformed packets", "count", r.bad,
				"suppressed", log.takeSuppressed(logRxMalformed))
		}
		r.bad = 0
	}
	if r.offl != 0 {
		x.rxc.offloaded.Add(r.offl)
		r.offl = 0
	}
	x.rx.publish(x.rxs, &r.t)
}

// deliver turns the accepted packets into frames over their chunks and
// hands them to the slaves, noting the reply route first.
func (x *xdpPath) deliver(r *xdpRx) {
	for i := range r.pkts {
		p := &r.pkts[i]
		if !p.ok {
			continue
		}
		x.notePeer(r, &p.pk)
		f, err := px.FrameOnWindows(x.pool, x.windows(r, p))
		if err != nil {
			x.rxs.rx.errors.Add(1) // cannot happen for held chunks
			continue
		}
		x.rx.accept(x.rxs, f)
	}
}

// notePeer records where replies go: a server answers the last datagram's
// source through the MAC it came from; a client follows the MAC the
// server's datagrams come from.
func (x *xdpPath) notePeer(r *xdpRx, pk *xdp.Packet) {
	if x.rx.client {
		if cur := x.route.load(); cur.DstMAC != pk.SrcMAC {
			h := *cur
			h.DstMAC = pk.SrcMAC
			x.route.set(&h)
		}
		return
	}
	h := replyHeader(pk, x.mac, x.port)
	x.route.set(&h)
	x.rx.notePeer(&r.pc, pk.Src())
}

// windows lists the payload's byte ranges in the packet's chunks. The
// first window's headroom is everything in front of the payload in its
// chunk (kernel headroom and the received headers), where a reply's headers
// can be written.
func (x *xdpPath) windows(r *xdpRx, p *xdpRxPkt) []poolx.Window {
	r.ws = r.ws[:0]
	skip, left := p.pk.PayloadOffset, p.pk.PayloadLen
	for k := p.first; k < p.first+p.count && left > 0; k++ {
		d, b := r.descs[k], r.bufs[k]
		l := int(d.Len)
		if skip >= l {
			skip -= l
			continue
		}
		w := poolx.Window{Buf: b, Off: int(d.Addr) - b.Offset() + skip, Len: min(l-skip, left)}
		if len(r.ws) == 0 {
			w.Headroom = w.Off
		}
		r.ws = append(r.ws, w)
		left -= w.Len
		skip = 0
	}
	if len(r.ws) == 0 { // an empty datagram: a window of nothing after the headers
		d, b := r.descs[p.first], r.bufs[p.first]
		off := int(d.Addr) - b.Offset() + min(p.pk.PayloadOffset, int(d.Len))
		r.ws = append(r.ws, poolx.Window{Buf: b, Off: off, Headroom: off})
	}
	return r.ws
}

// recycle gives each received chunk back to the fill ring when no frame
// kept it, and otherwise lets it go to its holder: stock replaces it.
func (x *xdpPath) recycle(r *xdpRx, got int) {
	for k := range got {
		b := r.bufs[k]
		if b == nil {
			continue
		}
		if b.SoleOwner() {
			r.refill = append(r.refill, uint64(b.Offset()))
			continue
		}
		x.held[b.Index] = false
		b.Release()
	}
}

// releaseHeld gives back every chunk the loop kept for the kernel, once the
// socket is closed.
func (x *xdpPath) releaseHeld() {
	bufs := px.RegionBuffers(x.pool)
	for i, h := range x.held {
		if h {
			x.held[i] = false
			bufs[i].Release()
		}
	}
}
