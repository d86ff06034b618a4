package srp

import "sync/atomic"

// HostStats counts a host's requests and response frames. Every response
// frame is in RxFrames and in exactly one of RxOK and the Rx drop or
// failure counters; every transaction the host refused is in Rejected or
// TxErrors.
type HostStats struct {
	Requests uint64 `json:"requests"` // request frames sent
	Posted   uint64 `json:"posted"`   // of them, posted writes
	Rejected uint64 `json:"rejected"` // transactions refused before a frame (alignment, size)
	TxErrors uint64 `json:"tx_errors"`

	RxFrames uint64 `json:"rx_frames"`
	RxOK     uint64 `json:"rx_ok"` // responses that completed a transaction without error
	// Frames dropped without completing anything: error flag set, shorter
	// than 24 bytes, id not outstanding, transaction already ended.
	RxFrameError uint64 `json:"rx_frame_error"`
	RxUndersized uint64 `json:"rx_undersized"`
	RxUnknownID  uint64 `json:"rx_unknown_id"`
	RxExpired    uint64 `json:"rx_expired"`
	// Responses that failed their transaction: header not echoed, nonzero
	// footer, length not 24 + size.
	RxHeaderMismatch uint64 `json:"rx_header_mismatch"`
	RxBusError       uint64 `json:"rx_bus_error"`
	RxSizeMismatch   uint64 `json:"rx_size_mismatch"`
}

type hostCounters struct {
	requests, posted, rejected, txErrors                    atomic.Uint64
	rxFrames, rxOK, rxFrameError, rxUndersized, rxUnknownID atomic.Uint64
	rxExpired, rxHeaderMismatch, rxBusError, rxSizeMismatch atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (h *Host) Stats() HostStats {
	c := &h.st
	return HostStats{
		Requests: c.requests.Load(), Posted: c.posted.Load(), Rejected: c.rejected.Load(), TxErrors: c.txErrors.Load(),
		RxFrames: c.rxFrames.Load(), RxOK: c.rxOK.Load(), RxFrameError: c.rxFrameError.Load(),
		RxUndersized: c.rxUndersized.Load(), RxUnknownID: c.rxUnknownID.Load(), RxExpired: c.rxExpired.Load(),
		RxHeaderMismatch: c.rxHeaderMismatch.Load(), RxBusError: c.rxBusError.Load(), RxSizeMismatch: c.rxSizeMismatch.Load(),
	}
}

// DeviceStats counts a device's request frames: every one is in RxFrames
// and in exactly one of Served, Posted and the drop counters.
type DeviceStats struct {
	RxFrames uint64 `json:"rx_frames"`
	Served   uint64 `json:"served"` // answered (reads and non-posted writes)
	Posted   uint64 `json:"posted"` // posted writes carried out, no answer
	// Dropped without an answer, as Rogue's SrpV3Emulation drops them.
	RxFrameError uint64 `json:"rx_frame_error"`
	RxUndersized uint64 `json:"rx_undersized"`
	RxVersion    uint64 `json:"rx_version"`
	RxNullOpcode uint64 `json:"rx_null_opcode"`
	RxBadSize    uint64 `json:"rx_bad_size"`
	RxShortWrite uint64 `json:"rx_short_write"`
	RxClosed     uint64 `json:"rx_closed"` // arrived or still queued at Close
	// TxErrors counts requests carried out whose response frame could
	// not be had; MemoryErrors transactions the memory failed (answered
	// with a nonzero footer).
	TxErrors     uint64 `json:"tx_errors"`
	MemoryErrors uint64 `json:"memory_errors"`
}

type deviceCounters struct {
	rxFrames, served, posted, rxFrameError, rxUndersized atomic.Uint64
	rxVersion, rxNull, rxBadSize, rxShortWrite           atomic.Uint64
	txErrors, memErrors, rxClosed                        atomic.Uint64
}
