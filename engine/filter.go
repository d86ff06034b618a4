package engine

import "sync/atomic"

// Filter passes on the frames of one channel and drops the others,
// optionally dropping frames whose error field is set as well (Rogue's
// stream::Filter). It is a Slave and, through its embedded Master, a
// Source; frames pass through synchronously on the caller's goroutine.
type Filter struct {
	Master

	channel    uint8
	dropErrors bool
	dropped    atomic.Uint64
}

// NewFilter returns a filter that passes frames of channel; with
// dropErrors, frames with a non-zero Error are dropped too.
func NewFilter(dropErrors bool, channel uint8) *Filter {
	return &Filter{channel: channel, dropErrors: dropErrors}
}

// AcceptFrame passes f on to the slaves or drops it.
func (fl *Filter) AcceptFrame(f Frame) {
	if f.Channel() != fl.channel || (fl.dropErrors && f.Error() != 0) {
		fl.dropped.Add(1)
		return
	}
	if fl.Master.SendFrame(f) != nil {
		fl.dropped.Add(1) // closed, or f already released
	}
}

// Dropped is the number of frames not passed on: other channels, errored
// frames when dropping them, and frames that arrived after Close.
func (fl *Filter) Dropped() uint64 { return fl.dropped.Load() }
