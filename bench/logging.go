package bench

import (
	"context"
	"log/slog"
	"sync/atomic"
)

// gate is a slog.Handler that drops records while closed. The client
// closes it from the hello on, where the engine's warnings (an ICMP port
// unreachable, a failed send) would only repeat what the client reports
// in its summary or error, and would land between its interval lines.
type gate struct {
	next   slog.Handler
	closed *atomic.Bool
}

func newGate(l *slog.Logger) (*slog.Logger, *atomic.Bool) {
	if l == nil {
		l = slog.Default()
	}
	closed := new(atomic.Bool)
	return slog.New(gate{next: l.Handler(), closed: closed}), closed
}

// Enabled is false while the gate is closed.
func (g gate) Enabled(ctx context.Context, level slog.Level) bool {
	return !g.closed.Load() && g.next.Enabled(ctx, level)
}

// Handle passes r on unless the gate is closed.
func (g gate) Handle(ctx context.Context, r slog.Record) error {
	if g.closed.Load() {
		return nil
	}
	return g.next.Handle(ctx, r)
}

// WithAttrs keeps the gate in front of the derived handler.
func (g gate) WithAttrs(attrs []slog.Attr) slog.Handler {
	return gate{next: g.next.WithAttrs(attrs), closed: g.closed}
}

// WithGroup keeps the gate in front of the derived handler.
func (g gate) WithGroup(name string) slog.Handler {
	return gate{next: g.next.WithGroup(name), closed: g.closed}
}
