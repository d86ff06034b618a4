package tcpbridge

import "sync/atomic"

// Stats counts a bridge end's messages and connections. Every message
// received is in RxMessages and in exactly one of: served or completed
// (RxOK), RxMalformed, RxUnknownID, RxExpired, RxMismatch.
type Stats struct {
	RxMessages  uint64 `json:"rx_messages"`
	RxOK        uint64 `json:"rx_ok"`
	RxMalformed uint64 `json:"rx_malformed"`
	// Client only: responses for no outstanding transaction, for one that
	// already ended, and responses that do not echo their request (they
	// fail the transaction).
	RxUnknownID uint64 `json:"rx_unknown_id"`
	RxExpired   uint64 `json:"rx_expired"`
	RxMismatch  uint64 `json:"rx_mismatch"`

	TxMessages uint64 `json:"tx_messages"`
	TxNoPeer   uint64 `json:"tx_no_peer"` // not sent: no connection
	TxErrors   uint64 `json:"tx_errors"`  // not sent: the write failed

	Connects        uint64 `json:"connects"`
	Disconnects     uint64 `json:"disconnects"`
	HandshakeErrors uint64 `json:"handshake_errors"`
	ProtocolErrors  uint64 `json:"protocol_errors"`
}

type counters struct {
	rxMessages, rxOK, rxMalformed, rxUnknownID, rxExpired, rxMismatch atomic.Uint64
	txMessages, txNoPeer, txErrors                                    atomic.Uint64
	connects, disconnects, handshake, protocol                        atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		RxMessages: c.rxMessages.Load(), RxOK: c.rxOK.Load(), RxMalformed: c.rxMalformed.Load(),
		RxUnknownID: c.rxUnknownID.Load(), RxExpired: c.rxExpired.Load(), RxMismatch: c.rxMismatch.Load(),
		TxMessages: c.txMessages.Load(), TxNoPeer: c.txNoPeer.Load(), TxErrors: c.txErrors.Load(),
		Connects: c.connects.Load(), Disconnects: c.disconnects.Load(),
		HandshakeErrors: c.handshake.Load(), ProtocolErrors: c.protocol.Load(),
	}
}
