package srp

import (
	"encoding/binary"
	"errors"

	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
)

// Device is the device side of SRPv3 (Rogue's SrpV3Emulation, for any
// memory Slave): a stream Slave that takes request frames and carries
// them out on its memory slave, and a stream Master (embedded) that sends
// the responses. Each request is served in the delivering goroutine, in
// order, and the response sent before AcceptFrame returns.
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
}

// NewDevice returns a device serving requests from s.
func NewDevice(s memory.Slave) *Device {
	return &Device{mem: memory.NewMaster(s)}
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
		RxShortWrite: c.rxShortWrite.Load(), TxErrors: c.txErrors.Load(), MemoryErrors: c.memErrors.Load(),
	}
}

// AcceptFrame serves one request frame.
func (d *Device) AcceptFrame(f engine.Frame) {
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
	d.SendFrame(r)
	r.Release()
}

// Close fails the device's memory transactions in flight and closes its
// stream master.
func (d *Device) Close() error {
	d.mem.Close()
	return d.Master.Close()
}
