package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench/srpbench"
	"udpstream.dev/engine/memory"
	"udpstream.dev/engine/srp"
	"udpstream.dev/internal/testutils"
)

// startDevice serves an emulated SRPv3 device of 1 MiB on a free port.
func startDevice(t *testing.T, l srpbench.Link) int {
	t.Helper()
	mem := memory.NewEmulate(4, srp.MaxAccess)
	mem.SetSize(1 << 20)
	dev := srp.NewDevice(mem)
	stop, port, err := srpbench.Serve(dev, l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(); dev.Close() })
	return port
}

func runUdpperf(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := realMain(args, &out, &errb)
	return out.String() + errb.String(), code
}

// TestSRPCommands: write, read, dump and bench against the emulated
// device, over plain UDP and over RSSI.
func TestSRPCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	testutils.Leak(t)
	for _, l := range []srpbench.Link{{Jumbo: true}, {RSSI: true, Packetizer: 2}, {RSSI: true, Packetizer: 1}} {
		t.Run(l.String(), func(t *testing.T) {
			port := startDevice(t, l)
			base := []string{"srp", "--port", strconv.Itoa(port)}
			if l.Jumbo {
				base = append(base, "--jumbo")
			}
			if l.RSSI {
				base = append(base, "--rssi", "--packetizer", "v"+strconv.Itoa(l.Packetizer))
			}
			cmd := func(args ...string) []string { return append(append([]string{}, base...), args...) }
			if out, code := runUdpperf(t, cmd("write", "0x100", "efbeadde01020304")...); code != 0 {
				t.Fatalf("write: %d %s", code, out)
			}
			out, code := runUdpperf(t, cmd("read", "0x100", "8")...)
			if code != 0 || !strings.Contains(out, "0x00000100: 0xdeadbeef") || !strings.Contains(out, "0x00000104: 0x04030201") {
				t.Fatalf("read: %d %s", code, out)
			}
			if out, code = runUdpperf(t, cmd("dump", "0xf0", "8192")...); code != 0 || !strings.Contains(out, "ef be ad de 01 02 03 04") {
				t.Fatalf("dump: %d %s", code, out)
			}
			if out, code = runUdpperf(t, cmd("read", "0x200000")...); code != 1 || !strings.Contains(out, "Non zero status") {
				t.Fatalf("read beyond the memory: %d %s", code, out)
			}
			out, code = runUdpperf(t, cmd("bench", "--size", "64", "--inflight", "4", "--time", "300ms", "--verify", "-J")...)
			var res map[string]any
			if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
				t.Fatalf("bench: %d %s", code, out)
			}
			for _, k := range []string{"transactions", "transactions_per_second", "mismatches", "errors", "errors_by_kind", "latency_us"} {
				if _, ok := res[k]; !ok {
					t.Fatalf("bench JSON lacks %q: %s", k, out)
				}
			}
			if res["transactions"].(float64) == 0 || res["mismatches"].(float64) != 0 || res["errors"].(float64) != 0 {
				t.Fatalf("bench: %s", out)
			}
		})
	}
}

func TestSRPUsage(t *testing.T) {
	for _, args := range [][]string{
		{"srp"}, {"srp", "frob"}, {"srp", "--packetizer", "v3", "read", "0"}, {"srp", "write", "0x0", "zz"},
		{"srp", "bench", "--size", "6"}, {"server", "--srp-emulate", "lots"},
	} {
		if out, code := runUdpperf(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, out)
		}
	}
}

// TestSRPServerRuns: udpperf server --srp-emulate serves until --time.
func TestSRPServerRuns(t *testing.T) {
	testutils.Leak(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := runSRPServer(ctx, env{stdout: &out, stderr: &out}, []string{"--port", "0", "--srp-emulate", "64K", "--time", "100ms"})
	if err != nil || !strings.Contains(out.String(), "SRPv3 device of 65536 bytes") || !strings.Contains(out.String(), "device:") {
		t.Fatalf("%v: %s", err, out.String())
	}
}
