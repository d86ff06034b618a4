package srp

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"

	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
)

// Device is the device side of SRPv3 (Rogue's SrpV3Emulation, for any
// memory Slave): a stream Slave that takes request frames and carries
// them out on its memory slave, and a stream Master (embedded) that sends
// the responses. Each request is served in the delivering goroutine, in
// order, by the device's own goroutine, as Rogue's emulation serves them
// from a worker thread: the goroutine that delivers requests (RSSI's) must
// never wait for the window the response needs, or both ends of a link
// can wait for each other. AcceptFrame queues; it blocks while QueueDepth
// requests wait.
//
// Like Rogue's emulation it drops, without an answer, frames with the
// error flag set, shorter than 20 bytes, of another version, with the null
// opcode, with a size not a multiple of 4 in 4..4096, and writes shorter
// than their size; it checks no alignment and ignores bit 14. Unlike it,
// a transaction the memory fails is answered with a nonzero footer:
// StatusBusTimeout for a timeout, StatusSlaveError otherwise.
type Device struct {
	engine.Master
	mem *memory.Master
	st  deviceCounters

	q       chan engine.Frame
	pending atomic.Int64 // queued or being served
	cork    atomic.Pointer[corker]
	batch   atomic.Pointer[batcher]
	out     []engine.Frame // responses of a burst for batch (nil outside one); the serving goroutine's
	outBuf  []engine.Frame
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// QueueDepth is how many request frames a device holds before AcceptFrame
// waits.
const QueueDepth = 1024

// NewDevice returns a device serving requests from s; Close stops its
// goroutine.
func NewDevice(s memory.Slave) *Device {
	d := &Device{mem: memory.NewMaster(s), q: make(chan engine.Frame, QueueDepth), done: make(chan struct{}),
		outBuf: make([]engine.Frame, 0, burst)}
	d.SetPool(framePool())
	d.wg.Add(1)
	go d.run()
	return d
}

// Pending is the number of requests queued or being served.
func (d *Device) Pending() int { return int(d.pending.Load()) }

// AcceptFrame queues a request frame (a new reference to it). After
// Close, frames are counted in RxFrames and RxClosed and dropped.
func (d *Device) AcceptFrame(f engine.Frame) {
	if f.Retain() != nil {
		d.st.rxFrames.Add(1)
		d.st.rxUndersized.Add(1)
		return
	}
	d.pending.Add(1)
	select {
	case d.q <- f:
	case <-d.done:
		d.dropClosed(f)
	}
}

func (d *Device) dropClosed(f engine.Frame) {
	d.st.rxFrames.Add(1)
	d.st.rxClosed.Add(1)
	f.Release()
	d.pending.Add(-1)
}

// corker is a stream slave that can hold what it sends for one system
// call (packetizer.Port over RSSI).
type corker interface {
	Cork()
	Uncork()
}

// batcher is a stream slave that sends several frames in one call
// (udp.Server, udp.Client: sendmmsg).
type batcher interface {
	SendBatch(fs []engine.Frame) (int, error)
}

// AddSlave attaches s. A single slave that sends batches, or the first
// that can cork, lets the device send the responses to a burst of
// requests together.
func (d *Device) AddSlave(s engine.Slave) {
	if k, ok := s.(corker); ok {
		d.cork.CompareAndSwap(nil, &k)
	}
	d.Master.AddSlave(s)
	if b, ok := s.(batcher); ok && d.SlaveCount() == 1 {
		d.batch.Store(&b)
	} else {
		d.batch.Store(nil)
	}
}

// burst bounds the requests served under one cork, so that a steady flow
// of requests does not hold the first responses back.
const burst = 32

// run serves queued requests until Close.
func (d *Device) run() {
	defer d.wg.Done()
	for {
		select {
		case f := <-d.q:
			d.serveBurst(f)
		case <-d.done:
			for {
				select {
				case f := <-d.q:
					d.dropClosed(f)
				default:
					return
				}
			}
		}
	}
}

// serveBurst serves f and up to burst-1 requests queued behind it,
// stopping early at Close. When more than one is served, their responses
// leave together when the burst ends: in one SendBatch, or held by the
// stream slave's cork until Uncork.
func (d *Device) serveBurst(f engine.Frame) {
	k, b := d.cork.Load(), d.batch.Load()
	corked := false
	for i := 0; ; i++ {
		switch {
		case corked || d.out != nil || len(d.q) == 0:
		case b != nil:
			d.out = d.outBuf[:0]
		case k != nil:
			(*k).Cork()
			corked = true
		}
		d.handle(f)
		f.Release()
		d.pending.Add(-1)
		if i == burst-1 || len(d.q) == 0 || d.closing() {
			break
		}
		f = <-d.q // only this goroutine receives: len > 0 means one is there
	}
	if corked {
		(*k).Uncork()
	}
	if d.out != nil {
		d.sendOut(*b)
	}
}

// sendOut sends the responses a burst collected in one call.
func (d *Device) sendOut(b batcher) {
	if n, _ := b.SendBatch(d.out); n < len(d.out) {
		d.st.txErrors.Add(uint64(len(d.out) - n))
	}
	for i := range d.out {
		d.out[i].Release()
		d.out[i] = engine.Frame{}
	}
	d.out = nil
}

// closing reports whether Close has begun.
func (d *Device) closing() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// Memory is the device's memory master (its timeout applies to each
// request: SetTimeout).
func (d *Device) Memory() *memory.Master { return d.mem }

// Stats returns a snapshot of the counters.
func (d *Device) Stats() DeviceStats {
	c := &d.st
	return DeviceStats{
		RxFrames: c.rxFrames.Load(), Served: c.served.Load(), Posted: c.posted.Load(),
		RxFrameError: c.rxFrameError.Load(), RxUndersized: c.rxUndersized.Load(),
		RxVersion: c.rxVersion.Load(), RxNullOpcode: c.rxNull.Load(), RxBadSize: c.rxBadSize.Load(),
		RxShortWrite: c.rxShortWrite.Load(), RxClosed: c.rxClosed.Load(), TxErrors: c.txErrors.Load(), MemoryErrors: c.memErrors.Load(),
	}
}

// handle serves one request frame.
func (d *Device) handle(f engine.Frame) {
	d.st.rxFrames.Add(1)
	if f.Error() != 0 {
		d.st.rxFrameError.Add(1)
		return
	}
	var hb [HeaderSize]byte
	if n, _ := f.ReadAt(hb[:], 0); n < HeaderSize {
		d.st.rxUndersized.Add(1)
		return
	}
	h := ParseHeader(hb[:])
	if err := CheckRequest(h, f.Payload()); err != nil {
		d.countDrop(err)
		return
	}
	d.serve(f, hb, h)
}

func (d *Device) countDrop(err error) {
	switch {
	case errors.Is(err, ErrVersion):
		d.st.rxVersion.Add(1)
	case errors.Is(err, ErrOpcode):
		d.st.rxNull.Add(1)
	case errors.Is(err, ErrBadSize):
		d.st.rxBadSize.Add(1)
	case errors.Is(err, ErrShortWrite):
		d.st.rxShortWrite.Add(1)
	default:
		d.st.rxUndersized.Add(1)
	}
}

// serve carries out a checked request and answers it.
func (d *Device) serve(f engine.Frame, hb [HeaderSize]byte, h Header) {
	typ := memory.Read
	switch h.Opcode {
	case OpWrite:
		typ = memory.Write
	case OpPost:
		typ = memory.Post
	}
	tx, err := d.mem.Acquire(typ, h.Address, int(h.Size))
	if err != nil {
		d.st.txErrors.Add(1)
		return
	}
	defer tx.Release()
	if typ.Writes() {
		f.ReadAt(tx.Data, HeaderSize)
	}
	var status uint32
	d.mem.Start(tx)
	if err := tx.Wait(); err != nil {
		d.st.memErrors.Add(1)
		status = StatusSlaveError
		if errors.Is(err, memory.ErrTimeout) {
			status = StatusBusTimeout
		}
	}
	if typ == memory.Post {
		d.st.posted.Add(1)
		return
	}
	d.respond(hb, tx.Data, status)
}

// respond sends the echoed header, the data and the footer.
func (d *Device) respond(hb [HeaderSize]byte, data []byte, status uint32) {
	r, err := d.ReqFrame(HeaderSize+len(data)+FooterSize, true)
	if err != nil {
		d.st.txErrors.Add(1)
		return
	}
	var ft [FooterSize]byte
	binary.LittleEndian.PutUint32(ft[:], status)
	r.Write(hb[:])
	r.Write(data)
	r.Write(ft[:])
	d.st.served.Add(1)
	if d.out != nil { // a burst: sent by serveBurst
		d.out = append(d.out, r)
		return
	}
	d.SendFrame(r)
	r.Release()
}

// Close fails the device's memory transaction in flight, drops what is
// queued (counted in RxClosed), stops its goroutine and closes its stream
// master. A request being served finishes first: Close returns once the
// memory slave has answered or the transaction failed.
func (d *Device) Close() error {
	d.once.Do(func() { close(d.done) })
	d.mem.Close()
	d.wg.Wait()
	return d.Master.Close()
}
