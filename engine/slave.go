package engine

import (
	"encoding/hex"
	"log/slog"
	"sync/atomic"
)

// BaseSlave is a ready Slave that counts what it accepts and, after
// SetDebug, logs a hex dump of each frame: Rogue's base Slave, attached for
// monitoring or debugging. Embed it to give a type the same counters.
//
// The zero BaseSlave is ready to use.
type BaseSlave struct {
	frames atomic.Uint64
	bytes  atomic.Uint64
	debug  atomic.Pointer[debugSettings]
	logger atomic.Pointer[slog.Logger] // the dump's logger; nil: slog.Default()
}

type debugSettings struct {
	maxBytes int
	name     string
}

// AcceptFrame counts f and logs it when debugging is on.
func (s *BaseSlave) AcceptFrame(f Frame) {
	s.Count(f)
	if d := s.debug.Load(); d != nil {
		s.dump(d, f)
	}
}

// Count adds f to the frame and byte counters. Types that embed BaseSlave
// and implement their own AcceptFrame call it to keep the counters true.
func (s *BaseSlave) Count(f Frame) {
	s.frames.Add(1)
	s.bytes.Add(uint64(f.Payload()))
}

// FrameCount is the number of frames accepted.
func (s *BaseSlave) FrameCount() uint64 { return s.frames.Load() }

// ByteCount is the number of payload bytes accepted.
func (s *BaseSlave) ByteCount() uint64 { return s.bytes.Load() }

// SetLogger sets the logger of the SetDebug dump; nil means
// slog.Default(). Endpoints hand it their WithLogger logger.
func (s *BaseSlave) SetLogger(l *slog.Logger) { s.logger.Store(l) }

// SetDebug logs the first maxBytes bytes of every accepted frame under the
// given name, at Info level, through the SetLogger logger or else
// slog.Default() (a Server or Client uses its WithLogger logger).
// maxBytes <= 0 turns it off; nothing is logged before SetDebug is called.
func (s *BaseSlave) SetDebug(maxBytes int, name string) {
	if maxBytes <= 0 {
		s.debug.Store(nil)
		return
	}
	s.debug.Store(&debugSettings{maxBytes: maxBytes, name: name})
}

func (s *BaseSlave) dump(d *debugSettings, f Frame) {
	n := min(d.maxBytes, f.Payload())
	head := make([]byte, n)
	n, _ = f.ReadAt(head, 0)
	l := s.logger.Load()
	if l == nil {
		l = slog.Default()
	}
	l.Info("frame",
		"name", d.name,
		"size", f.Payload(),
		"channel", f.Channel(),
		"error", f.Error(),
		"flags", f.Flags(),
		"data", hex.EncodeToString(head[:n]))
}
