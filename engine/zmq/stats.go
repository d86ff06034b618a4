package zmq

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a bridge's counters. Every frame handed to Send
// that does not reach a peer's socket is counted in exactly one Tx drop
// counter, and every received message that does not become a frame in
// exactly one Rx drop counter.
type Stats struct {
	// RxFrames and RxBytes count frames received and handed to the slaves
	// (payload bytes).
	RxFrames uint64 `json:"rx_frames"`
	RxBytes  uint64 `json:"rx_bytes"`
	// TxFrames and TxBytes count frames written whole to a peer's socket.
	TxFrames uint64 `json:"tx_frames"`
	TxBytes  uint64 `json:"tx_bytes"`

	// RxMalformed counts messages dropped for their shape: not exactly 4
	// parts, or parts 0..2 not of 2, 1 and 1 bytes.
	RxMalformed uint64 `json:"rx_malformed"`
	// RxOversize counts messages dropped because the payload exceeded the
	// maximum (WithMaxPayload).
	RxOversize uint64 `json:"rx_oversize"`
	// RxPoolExhausted counts messages dropped because the receive pool
	// refused a frame (its allocation limit).
	RxPoolExhausted uint64 `json:"rx_pool_exhausted"`

	// TxNoPeer counts frames dropped because no peer was connected within
	// the send timeout.
	TxNoPeer uint64 `json:"tx_no_peer"`
	// TxTimeouts counts frames dropped because the peer did not take them
	// within the send timeout.
	TxTimeouts uint64 `json:"tx_timeouts"`
	// TxErrors counts frames lost to a connection that failed while they
	// were being written, frames that could not be read (released), and
	// frames handed over after Close.
	TxErrors uint64 `json:"tx_errors"`

	// Connects counts connections that completed the ZMTP handshake;
	// Disconnects those of them that ended. HandshakeErrors counts
	// connections refused during the handshake (not ZMTP 3, a security
	// mechanism, a wrong socket type), ProtocolErrors connections closed
	// for breaking ZMTP framing later.
	Connects        uint64 `json:"connects"`
	Disconnects     uint64 `json:"disconnects"`
	HandshakeErrors uint64 `json:"handshake_errors"`
	ProtocolErrors  uint64 `json:"protocol_errors"`
	// Peers is the number of connected peers that frames can be sent to.
	Peers int `json:"peers"`
}

type counters struct {
	rxFrames, rxBytes, txFrames, txBytes       atomic.Uint64
	rxMalformed, rxOversize, rxPoolExhausted   atomic.Uint64
	txNoPeer, txTimeouts, txErrors             atomic.Uint64
	connects, disconnects, handshake, protocol atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		RxFrames: c.rxFrames.Load(), RxBytes: c.rxBytes.Load(),
		TxFrames: c.txFrames.Load(), TxBytes: c.txBytes.Load(),
		RxMalformed: c.rxMalformed.Load(), RxOversize: c.rxOversize.Load(),
		RxPoolExhausted: c.rxPoolExhausted.Load(),
		TxNoPeer:        c.txNoPeer.Load(), TxTimeouts: c.txTimeouts.Load(),
		TxErrors: c.txErrors.Load(),
		Connects: c.connects.Load(), Disconnects: c.disconnects.Load(),
		HandshakeErrors: c.handshake.Load(), ProtocolErrors: c.protocol.Load(),
	}
}

// logKind names one recurring warning, rate-limited on its own.
type logKind int

const (
	logMalformed logKind = iota
	logOversize
	logPool
	logHandshake
	logConn
	logSend
	logKinds
)

// rateLog logs at most one warning of each kind per second, so a peer that
// floods bad messages cannot flood the log.
type rateLog struct {
	l    *slog.Logger
	next [logKinds]atomic.Int64
}

func (r *rateLog) allow(k logKind) bool {
	now := time.Now().UnixNano()
	n := r.next[k].Load()
	return now >= n && r.next[k].CompareAndSwap(n, now+int64(time.Second))
}

func (r *rateLog) warn(k logKind, msg string, args ...any) {
	if r.allow(k) {
		r.l.Warn(msg, args...)
	}
}
