package srpbench

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"udpstream.dev/engine/memory"
	"udpstream.dev/engine/srp"
	"udpstream.dev/internal/testutils"
)

// Run against an emulated device over plain UDP: writes read back, no
// errors, no mismatches, latencies ordered, and the host's counters filled.
func TestRunAgainstDevice(t *testing.T) {
	testutils.Leak(t)
	mem := memory.NewEmulate(4, srp.MaxAccess)
	mem.SetSize(1 << 20)
	dev := srp.NewDevice(mem)
	defer dev.Close()
	l := Link{Host: "127.0.0.1", Jumbo: true}
	stop, port, err := Serve(dev, l)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	l.Port = port
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := Dial(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	h.M.SetTimeout(2 * time.Second)
	run := 200 * time.Millisecond
	if testing.Short() {
		run = 50 * time.Millisecond // short: a shorter run of the same checks
	}
	res := Run(ctx, h, l, Config{Size: 64, Inflight: 4, Time: run, Verify: true})
	if res.Transactions == 0 || res.Errors != 0 || res.Mismatches != 0 || res.Link != "udp jumbo" {
		t.Fatalf("%+v", res)
	}
	if lat := res.Latency; lat.P50 <= 0 || lat.P50 > lat.P99 || lat.P99 > lat.Max {
		t.Fatalf("latency %+v", lat)
	}
	if res.Host == (srp.HostStats{}) {
		t.Fatalf("host counters empty: %+v", res)
	}
}

func TestErrorKind(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("read: %w", memory.ErrTimeout), "timeout"},
		{srp.ErrBus, "bus"},
		{fmt.Errorf("x: %w", srp.ErrSizeMismatch), "size_mismatch"},
		{errors.New("something else"), "other"},
	} {
		if got := ErrorKind(c.err); got != c.want {
			t.Errorf("%v: %q, want %q", c.err, got, c.want)
		}
	}
}

// summarise counts errors as transactions but not in the rate, and sums
// errors by kind over the workers.
func TestSummarise(t *testing.T) {
	ws := []*worker{
		{lat: []time.Duration{3 * time.Microsecond, time.Microsecond}, errs: map[string]int64{"timeout": 2}},
		{lat: []time.Duration{2 * time.Microsecond}, mismatches: 1, errs: map[string]int64{"timeout": 1, "bus": 1}},
	}
	res := summarise(ws, time.Second, Link{RSSI: true, Packetizer: 2}, Config{Size: 8, Inflight: 2})
	if res.Transactions != 7 || res.TransactionsPerSecond != 3 || res.Errors != 4 || res.Mismatches != 1 ||
		res.ErrorsByKind["timeout"] != 3 || res.ErrorsByKind["bus"] != 1 || res.Link != "rssi+packetizer v2" {
		t.Fatalf("%+v", res)
	}
	if res.Latency != (Latency{P50: 2, P99: 2, Max: 3}) {
		t.Fatalf("latency %+v", res.Latency)
	}
}
