//go:build linux

package udp

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/internal/poolx"
	"udpstream.dev/xdp"
)

// xdpTx is the transmit scratch space and bookkeeping, guarded by the
// txRules' txMu.
type xdpTx struct {
	closed   bool
	inflight []int32 // per chunk: descriptors queued and not completed
	descs    []xdp.Desc
	frames   []engine.Frame // staged frames, with their descriptor count and size
	nd       []int
	sizes    []int
	payload  [][]byte
	segs     []poolx.Segment // the frame being staged
	comp     []uint64
	id       uint16 // IPv4 identification of the next datagram
}

func (t *xdpTx) init(x *xdpPath, chunks int) {
	b := x.cfg.batch
	t.inflight = make([]int32, chunks)
	t.descs = make([]xdp.Desc, 0, b*xdpMaxTxDescs)
	t.frames = make([]engine.Frame, 0, b)
	t.nd = make([]int, 0, b)
	t.sizes = make([]int, 0, b)
	t.payload = make([][]byte, 0, xdpMaxTxDescs)
	t.segs = make([]poolx.Segment, 0, xdpMaxTxDescs)
	t.comp = make([]uint64, x.rings.comp)
}

// send transmits one frame; see endpoint.send. The destination is the
// route the receive side keeps (xdpRoute), not dest.
func (x *xdpPath) send(f engine.Frame, _ netip.AddrPort) error {
	one := [1]engine.Frame{f}
	return x.transmit(one[:], netip.AddrPort{}, false).first
}

// transmit sends fs to the peer through the TX ring, in batches, counting
// every frame that does not go out; with mark it also sets their error
// code (the AcceptFrame contract). The kernel reads the frames after this
// returns (in copy mode when it is woken, which this call does; with
// zero-copy until the NIC is done): their buffers stay out of the pool
// until the kernel reports them completed, so releasing a sent frame is
// safe, but writing into it before then would change what is sent.
func (x *xdpPath) transmit(fs []engine.Frame, _ netip.AddrPort, mark bool) txResult {
	tr := x.txr
	r := txResult{mark: mark}
	tr.txMu.Lock()
	defer tr.txMu.Unlock()
	t := &x.tx
	if t.closed {
		tr.tx.errors.Add(uint64(len(fs)))
		r.fail(engine.ErrClosed, fs...)
		return r
	}
	x.reap()
	h := x.route.load()
	if h == nil { // a server that has heard from nobody yet
		tr.tx.noPeer.Add(uint64(len(fs)))
		r.fail(ErrNoPeer, fs...)
		return r
	}
	hl := h.Len()
	limit := x.mtu - (hl - ethLen(h)) // payload that fits the link MTU
	for i, f := range fs {
		n, err := tr.checkFrame(f)
		if err == nil && n > limit {
			tr.tx.oversize.Add(1)
			err = fmt.Errorf("%w: payload of %d bytes exceeds the %d an MTU of %d carries to %v", engine.ErrFrameSize, n, limit, x.mtu, h.Dst)
		}
		if err == nil {
			err = x.stage(f, n, h, hl)
			if err != nil {
				tr.tx.errors.Add(1)
			}
		}
		if err != nil {
			r.fail(err, f)
			continue
		}
		if len(t.frames) == cap(t.frames) || i == len(fs)-1 {
			if err := x.flush(&r); errors.Is(err, engine.ErrClosed) || errors.Is(err, ErrTxTimeout) {
				rest := fs[i+1:]
				tr.txFailed(err, len(rest))
				r.fail(err, rest...)
				break
			}
		}
	}
	if len(t.frames) > 0 { // the last frames failed after some were staged
		x.flush(&r)
	}
	return r
}

// ethLen is the Ethernet header length of h, with its VLAN tag.
func ethLen(h *xdp.Header) int {
	if h.Tagged {
		return 18
	}
	return 14
}

// stage writes f's headers and appends its descriptors: in place, in the
// headroom of its first buffer, when f lies in UMEM buffers not being sent
// already; otherwise in UMEM buffers f is copied into.
func (x *xdpPath) stage(f engine.Frame, n int, h *xdp.Header, hl int) error {
	t := &x.tx
	segs, err := px.Segments(f, t.segs[:0])
	t.segs = segs[:0]
	if err != nil {
		return err
	}
	hdr := *h
	hdr.ID = t.id
	if !x.inPlace(segs, hl) {
		if err := x.stageCopy(f, n, &hdr, hl); err != nil {
			return err
		}
		t.id++
		return nil
	}
	t.payload = t.payload[:0]
	for i := range segs {
		if s := &segs[i]; s.N > 0 {
			t.payload = append(t.payload, s.Buf.Mem[s.Lo:s.Lo+s.N])
		}
	}
	hb, err := f.PushHeader(hl)
	if err != nil {
		return err
	}
	defer f.PullHeader(hl)
	if _, err := xdp.BuildUDPHeadersFrags(hb, &hdr, t.payload); err != nil {
		return fmt.Errorf("udp: xdp: building headers: %w", err)
	}
	t.id++
	// The descriptors cover the headers too: look again after PushHeader.
	if segs, err = px.Segments(f, segs[:0]); err != nil {
		return err
	}
	start := len(t.descs)
	for i := range segs {
		s := &segs[i]
		if s.N == 0 {
			continue
		}
		t.descs = append(t.descs, xdp.Desc{Addr: uint64(s.Buf.Offset() + s.Lo), Len: uint32(s.N), Options: xdp.OptContinued})
		s.Buf.Retain()
		t.inflight[s.Buf.Index]++
	}
	t.descs[len(t.descs)-1].Options = 0
	t.add(f, len(t.descs)-start, n)
	return nil
}

func (t *xdpTx) add(f engine.Frame, descs, size int) {
	t.frames = append(t.frames, f)
	t.nd = append(t.nd, descs)
	t.sizes = append(t.sizes, size)
}

// inPlace reports whether f can be sent from where it is: every buffer
// with data is a chunk of this UMEM, there are few enough of them for one
// packet (one without multi-buffer), the first has room for the headers
// and is not being sent already (its headroom would be rewritten under the
// kernel).
func (x *xdpPath) inPlace(segs []poolx.Segment, hl int) bool {
	if len(segs) == 0 {
		return false
	}
	s0 := &segs[0]
	if s0.Lo-s0.Floor < hl || !x.owns(s0.Buf) || x.tx.inflight[s0.Buf.Index] != 0 {
		return false
	}
	if s0.N == 0 && len(segs) > 1 {
		return false
	}
	used := 0
	for i := range segs {
		s := &segs[i]
		if s.N == 0 {
			continue
		}
		if !x.owns(s.Buf) {
			return false
		}
		used++
	}
	most := 1
	if x.sock.MultiBuffer() {
		most = xdpMaxTxDescs
	}
	return used <= most
}

// owns reports whether b is a UMEM chunk of this path's pool.
func (x *xdpPath) owns(b *poolx.Buffer) bool {
	return b.Index >= 0 && px.Owns(x.pool, b)
}

// stageCopy copies f into fresh UMEM buffers (the payload at the transmit
// headroom of the first, then from the start of the next ones) and builds
// its headers there.
func (x *xdpPath) stageCopy(f engine.Frame, n int, hdr *xdp.Header, hl int) error {
	t := &x.tx
	first := xdpChunk - xdpTxHeadroom
	need := 1
	if n > first {
		need += (n - first + xdpChunk - 1) / xdpChunk
	}
	if need > 1 && !x.sock.MultiBuffer() || need > xdpMaxTxDescs {
		return fmt.Errorf("%w: %d bytes do not fit one UMEM chunk", engine.ErrFrameSize, n)
	}
	start := len(t.descs)
	t.payload = t.payload[:0]
	for i, pos := 0, 0; i < need; i++ {
		b, err := px.AllocBuffer(x.pool)
		if err == nil && b.Index < 0 {
			b.Release()
			err = fmt.Errorf("%w: no UMEM buffer free", engine.ErrPoolExhausted)
		}
		if err != nil {
			x.unstage(start)
			return fmt.Errorf("udp: xdp: copying a frame to send: %w", err)
		}
		off, room := 0, xdpChunk
		if i == 0 {
			off, room = xdpTxHeadroom, first
		}
		c := min(room, n-pos)
		if c > 0 {
			if _, err := f.ReadAt(b.Mem[off:off+c], int64(pos)); err != nil {
				b.Release()
				x.unstage(start)
				return err
			}
		}
		t.payload = append(t.payload, b.Mem[off:off+c])
		addr, l := b.Offset()+off, c
		if i == 0 {
			addr, l = addr-hl, l+hl
		}
		t.descs = append(t.descs, xdp.Desc{Addr: uint64(addr), Len: uint32(l), Options: xdp.OptContinued})
		t.inflight[b.Index]++ // the allocation's reference is the hold
		pos += c
	}
	t.descs[len(t.descs)-1].Options = 0
	b0 := x.umem[t.descs[start].Addr&^(xdpChunk-1):]
	if _, err := xdp.BuildUDPHeadersFrags(b0[:xdpTxHeadroom], hdr, t.payload); err != nil {
		x.unstage(start)
		return fmt.Errorf("udp: xdp: building headers: %w", err)
	}
	x.txCopies.Add(1)
	t.add(f, len(t.descs)-start, n)
	return nil
}

// unstage drops the descriptors from index start on, and their holds.
func (x *xdpPath) unstage(start int) {
	t := &x.tx
	for _, d := range t.descs[start:] {
		x.done(d.Addr)
	}
	t.descs = t.descs[:start]
}

// done ends the hold on the chunk of a descriptor the kernel completed (or
// that never went out).
func (x *xdpPath) done(addr uint64) {
	b, err := px.BufferAt(x.pool, int(addr&^(xdpChunk-1)))
	if err != nil || x.tx.inflight[b.Index] <= 0 {
		x.txr.tx.errors.Add(1) // the kernel returned an address never sent
		return
	}
	x.tx.inflight[b.Index]--
	b.Release()
}

// reap takes the completed descriptors off the completion ring and ends
// their holds.
func (x *xdpPath) reap() {
	for {
		n, err := x.sock.Complete(x.tx.comp)
		if err != nil || n == 0 {
			return
		}
		for _, a := range x.tx.comp[:n] {
			x.done(a)
		}
		x.txOut.Add(-int64(n))
		if n < len(x.tx.comp) {
			return
		}
	}
}

// flush queues the staged frames, whole packets at a time, as TX ring room
// allows, and wakes the kernel. When the ring stays full (the device or
// its peer is busy) it reaps completions and waits, up to the transmit
// timeout; frames still staged then fail.
func (x *xdpPath) flush(r *txResult) error {
	tr := x.txr
	t := &x.tx
	defer func() {
		clear(t.frames)
		t.frames, t.nd, t.sizes, t.descs = t.frames[:0], t.nd[:0], t.sizes[:0], t.descs[:0]
	}()
	di := 0
	var w txWait
	for done := 0; done < len(t.frames); {
		free := x.sock.TxFree()
		k, cnt := 0, 0
		for done+k < len(t.frames) && cnt+t.nd[done+k] <= free {
			cnt += t.nd[done+k]
			k++
		}
		var err error
		if k > 0 {
			q, terr := x.sock.Transmit(t.descs[di : di+cnt])
			x.txOut.Add(int64(q))
			for adv := 0; done < len(t.frames) && adv+t.nd[done] <= q; done++ {
				adv += t.nd[done]
				r.sent++
				tr.tx.frames.Add(1)
				tr.tx.bytes.Add(uint64(t.sizes[done]))
			}
			di += q
			if q == cnt {
				w = txWait{}
				if terr != nil && tr.log.allow(logXDP) {
					// The descriptors are queued; the next wake-up sends them.
					tr.log.l.Warn("xdp: transmit wake-up failed", "err", terr, "suppressed", tr.log.takeSuppressed(logXDP))
				}
				continue
			}
			// TxFree promised room for cnt: only a closed socket says less.
			err = terr
			if err == nil {
				err = fmt.Errorf("udp: xdp: the TX ring took %d of %d descriptors", q, cnt)
			}
		} else {
			x.reap()
			_, err = x.sock.Transmit(nil) // wake the kernel for what is queued
		}
		if errors.Is(err, xdp.ErrClosed) {
			err = engine.ErrClosed
		} else if err == nil && !w.wait(x.txr) {
			err = os.ErrDeadlineExceeded
		}
		if err != nil {
			return x.failStaged(done, di, err, r)
		}
	}
	return nil
}

// failStaged fails the staged frames from index from (their descriptors
// from di), dropping their holds.
func (x *xdpPath) failStaged(from, di int, err error, r *txResult) error {
	t := &x.tx
	x.unstage(di)
	rest := t.frames[from:]
	ferr := x.txr.txFailed(err, len(rest))
	r.fail(ferr, rest...)
	return ferr
}

// xdpMinWait is the least a transmitter waits for TX ring room, so that
// a zero timeout still gives the kernel a moment to complete what it holds.
const xdpMinWait = time.Millisecond

// txWait paces a transmitter waiting for TX ring room: it yields the
// processor a few times (the kernel usually frees room within
// microseconds), then sleeps briefly with a growing pause, until the
// transmit timeout (at least a millisecond, sooner once Close has set a
// limit) has passed.
type txWait struct {
	deadline time.Time
	rounds   int
}

func (w *txWait) wait(r *txRules) bool {
	if w.deadline.IsZero() {
		w.deadline = r.deadline(xdpMinWait)
	}
	now := time.Now()
	if now.After(w.deadline) {
		return false
	}
	w.rounds++
	if w.rounds <= 64 {
		runtime.Gosched()
		return true
	}
	time.Sleep(min(time.Duration(w.rounds-64)*10*time.Microsecond, time.Millisecond))
	return true
}
