package udp

import (
	"log/slog"
	"sync/atomic"
	"time"
)

// logKind names one recurring warning; each kind is rate-limited on its own.
type logKind int

const (
	logRxOversize logKind = iota
	logRxRejected
	logRxExhausted
	logRxError
	logRingDrop
	logTxErrored
	logTxOversize
	logTxNoPeer
	logTxError
	logTxTimeout
	logConnRefused
	logRxMalformed
	logXDP
	logKinds
)

// logInterval is the least time between two warnings of one kind.
const logInterval = time.Second

// rateLog emits at most one warning per kind per logInterval, so a flood of
// bad datagrams cannot flood the log. Callers test allow before building
// the attributes, so a suppressed warning costs two atomic operations and
// no allocation.
type rateLog struct {
	l          *slog.Logger
	next       [logKinds]atomic.Int64 // unix nanoseconds before which kind k is quiet
	suppressed [logKinds]atomic.Uint64
}

// newRateLog logs to l; without one (no WithLogger) it logs nothing: a
// library stays quiet unless asked, and every event it would log is also
// counted in Stats or returned as an error.
func newRateLog(l *slog.Logger) *rateLog {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &rateLog{l: l}
}

// allow reports whether a warning of kind k may be logged now; when it
// returns true the caller logs, passing suppressed(k) along.
func (r *rateLog) allow(k logKind) bool {
	now := time.Now().UnixNano()
	n := r.next[k].Load()
	if now < n || !r.next[k].CompareAndSwap(n, now+int64(logInterval)) {
		r.suppressed[k].Add(1)
		return false
	}
	return true
}

// suppressed returns and resets how many warnings of kind k were held back
// since the last one logged.
func (r *rateLog) takeSuppressed(k logKind) uint64 {
	return r.suppressed[k].Swap(0)
}
