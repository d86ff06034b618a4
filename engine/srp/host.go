package srp

import (
	"encoding/binary"
	"sync/atomic"

	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
)

// Host is the host side of SRPv3 (Rogue's protocols.srp.SrpV3): a memory
// Slave whose transactions become request frames, sent to its stream
// slaves (it embeds engine.Master), and a stream Slave that takes the
// response frames and completes the transactions they answer.
//
// Any number of transactions may be outstanding; responses are matched by
// id in any order. Every response frame is counted in Stats, once.
type Host struct {
	engine.Master

	hwTimeout atomic.Uint32
	st        hostCounters

	out memory.Outstanding
}

// NewHost returns a host sending Rogue's default hardware timeout.
func NewHost() *Host {
	h := &Host{}
	h.hwTimeout.Store(DefaultHardwareTimeout)
	h.SetPool(framePool())
	return h
}

// framePool is the pool request and response frames come from when the
// primary stream slave has none of its own (a transport has): one
// recycled buffer per frame.
func framePool() *engine.Pool {
	p, err := engine.NewFixedPool(HeaderSize+MaxAccess+FooterSize, 256, 0)
	if err != nil {
		return engine.NewPool()
	}
	return p
}

// SetHardwareTimeout sets the timeout byte of word 0 (Rogue's
// setHardwareTimeout); responses must echo it.
func (h *Host) SetHardwareTimeout(v uint8) { h.hwTimeout.Store(uint32(v)) }

// MinAccess, MaxAccess and Address make the host a memory.Slave(4, 4096).
func (h *Host) MinAccess() uint32 { return MinAccess }
func (h *Host) MaxAccess() uint32 { return MaxAccess }
func (h *Host) Address() uint64   { return 0 }

// DoTransaction checks tx, sends its request frame and, for a posted
// write, completes it once sent; other types complete on their response.
func (h *Host) DoTransaction(tx *memory.Transaction) {
	id := tx.ID()
	if h.out.Closed() {
		tx.Complete(memory.Errorf(id, memory.ErrClosed, "srp: host closed"))
		return
	}
	if err := memory.CheckAccess(tx, MinAccess, MaxAccess); err != nil {
		h.st.rejected.Add(1)
		tx.Complete(err)
		return
	}
	op := OpcodeFor(tx.Type)
	f, err := h.build(tx, op)
	if err != nil {
		h.st.txErrors.Add(1)
		tx.Complete(memory.Errorf(id, ErrSend, "srp: no request frame for transaction %d: %v", id, err))
		return
	}
	if op != OpPost && !h.out.Hold(tx, id) {
		f.Release()
		tx.Complete(memory.Errorf(id, memory.ErrClosed, "srp: host closed"))
		return
	}
	err = h.SendFrame(f)
	f.Release()
	if err != nil {
		h.st.txErrors.Add(1)
		h.Forget(id)
		if tx.Claim(id) { // fails if a response or Close got there first
			tx.Finish(memory.Errorf(id, ErrSend, "srp: sending transaction %d: %v", id, err))
		}
		return
	}
	h.st.requests.Add(1)
	if op == OpPost {
		h.st.posted.Add(1)
		tx.Complete(nil)
	}
}

// build makes the request frame of tx.
func (h *Host) build(tx *memory.Transaction, op Opcode) (engine.Frame, error) {
	n := HeaderSize
	if op != OpRead {
		n += len(tx.Data)
	}
	f, err := h.ReqFrame(n, true)
	if err != nil {
		return f, err
	}
	var hdr [HeaderSize]byte
	PutHeader(hdr[:], op, uint8(h.hwTimeout.Load()), tx.ID(), tx.Address, uint32(len(tx.Data)))
	if _, err = f.Write(hdr[:]); err == nil && op != OpRead {
		_, err = f.Write(tx.Data)
	}
	if err != nil {
		f.Release()
	}
	return f, err
}

// Forget drops id from the table: the transaction ended without a
// response (memory.Tracker).
func (h *Host) Forget(id uint32) { h.out.Forget(id) }

// Outstanding is the number of transactions awaiting a response.
func (h *Host) Outstanding() int { return h.out.Len() }

// AcceptFrame takes a response frame, in Rogue's order of checks: error
// flag, undersized, unknown id, expired; then header, footer and length
// decide the transaction's result.
func (h *Host) AcceptFrame(f engine.Frame) {
	h.st.rxFrames.Add(1)
	if f.Error() != 0 {
		h.st.rxFrameError.Add(1)
		return
	}
	n := f.Payload()
	if n < HeaderSize+FooterSize {
		h.st.rxUndersized.Add(1)
		return
	}
	var hb [HeaderSize]byte
	var fb [FooterSize]byte
	if _, err := f.ReadAt(hb[:], 0); err != nil {
		h.st.rxUndersized.Add(1)
		return
	}
	f.ReadAt(fb[:], int64(n-FooterSize))
	hd := ParseHeader(hb[:])
	tx := h.out.Take(hd.ID)
	if tx == nil {
		h.st.rxUnknownID.Add(1)
		return
	}
	if !tx.Claim(hd.ID) {
		h.st.rxExpired.Add(1)
		return
	}
	err := h.check(tx, hd, binary.LittleEndian.Uint32(fb[:]), n)
	if err == nil && !tx.Type.Writes() {
		f.ReadAt(tx.Data, HeaderSize)
	}
	if err == nil {
		h.st.rxOK.Add(1)
	}
	tx.Finish(err)
}

// check compares a response with its transaction and counts a failure.
func (h *Host) check(tx *memory.Transaction, hd Header, footer uint32, n int) error {
	size := uint32(len(tx.Data))
	want := Word0(OpcodeFor(tx.Type), uint8(h.hwTimeout.Load()))
	if hd.Word0&word0Mask != want || hd.Address != tx.Address || hd.SizeFieldWord != size-1 {
		h.st.rxHeaderMismatch.Add(1)
		return memory.Errorf(hd.ID, ErrProtocol, "Received SRPV3 message did not match expected protocol. id=%d, addr=0x%08x%08x",
			hd.ID, uint32(hd.Address>>32), uint32(hd.Address))
	}
	if footer != 0 {
		h.st.rxBusError.Add(1)
		class, text := footerError(footer)
		return memory.Errorf(hd.ID, class, "%s", text)
	}
	if want := HeaderSize + FooterSize + int(size); n != want {
		h.st.rxSizeMismatch.Add(1)
		return memory.Errorf(hd.ID, ErrSizeMismatch,
			"Received SRPV3 message had a header size mismatch. id=%d, frameSize=%d, expectedSize=%d, tranSize=%d, headerSize=%d",
			hd.ID, n, want, size, hd.Size)
	}
	return nil
}

// Close fails every outstanding transaction with memory.ErrClosed, and
// every later one, and closes the stream master. It returns at once.
func (h *Host) Close() error {
	h.out.Close("srp: host")
	return h.Master.Close()
}
