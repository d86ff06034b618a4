package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/traffic"
	"udpstream.dev/engine/udp"
)

func TestSenderCountsErrorsAndStopsOnContext(t *testing.T) {
	tx := benchtest.NewTx(t)
	tx.FailEvery = 4
	s, err := traffic.NewSender(tx, 100, 8, false, false)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Run(ctx, 0, 0); err != nil {
		t.Fatal(err)
	}
	sent, errs := s.Sent.Load(), s.Errs.Load()
	if errs == 0 || sent != 3*errs {
		t.Fatalf("sent %d, errors %d: want 3 sent per error", sent, errs)
	}
	if s.FirstError() == nil {
		t.Fatal("first error not kept")
	}
	// The summary says how many failed and why.
	sum := sentSummary(time.Second, s, cpu.Usage{}, udp.Stats{})
	if sum.Errors != errs || sum.FirstError != s.FirstError().Error() {
		t.Fatalf("summary errors %d (%q), want %d (%q)", sum.Errors, sum.FirstError, errs, s.FirstError())
	}
	if line := report.FormatSent(sum); !strings.Contains(line, "(first: "+sum.FirstError+")") {
		t.Fatalf("sender line does not give the first error: %s", line)
	}
}
