package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/bench/report"
)

// TestLowLatencyFlagErrors checks the combinations the low-latency flags
// refuse.
func TestLowLatencyFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"latency", "--low-latency", "--no-low-latency"}, "exclude each other"},
		{[]string{"latency", "--spin", "1s"}, "--spin 1s outside"},
		{[]string{"latency", "--spin", "-1us"}, "negative duration"},
		{[]string{"latency", "--no-low-latency", "--spin", "10us"}, "excludes --no-low-latency"},
		{[]string{"latency", "--netns", "--transport", "xdp", "--low-latency"}, "--transport xdp"},
		{[]string{"server", "--low-latency", "--rx-queue", "16"}, "without --rx-queue"},
		{[]string{"server", "--spin", "20ms"}, "outside"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		if code := realMain(rawArgs(c.args), &out, &errOut); code != exitUsage {
			t.Fatalf("%v: exit %d, want %d; stderr %q", c.args, code, exitUsage, errOut.String())
		}
		if line := oneLineError(t, errOut.String()); !strings.Contains(line, c.want) {
			t.Errorf("%v: error %q does not say %q", c.args, line, c.want)
		}
	}
}

// latencyDoc runs udpperf latency with args and returns its one result.
func latencyDoc(t *testing.T, args ...string) bench.LatencyResult {
	t.Helper()
	out, errOut, code := run(t, 60*time.Second, append([]string{"latency", "--transport", "mmsg", "--count", "200", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("%v: exit %d:\n%s", args, code, errOut)
	}
	var doc report.SweepReport[bench.LatencyResult]
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.End.Results) != 1 || doc.End.Results[0].Samples != 200 {
		t.Fatalf("%v: %+v", args, doc.End.Results)
	}
	return doc.End.Results[0]
}

// TestLatencyLowLatencyModes checks that latency uses the low-latency
// mode by default, in process and against a server started with
// --low-latency, says so in its JSON, and leaves it with
// --no-low-latency.
func TestLatencyLowLatencyModes(t *testing.T) {
	if testing.Short() {
		t.Skip("short: one latency run per low-latency mode; TestLatencyCommand covers latency")
	}
	if r := latencyDoc(t); !r.Test.LowLatency {
		t.Error("in-process latency did not use the low-latency mode by default")
	}
	if r := latencyDoc(t, "--no-low-latency"); r.Test.LowLatency {
		t.Error("--no-low-latency still reported the low-latency mode")
	}
	if r := latencyDoc(t, "--spin", "20us"); !r.Test.LowLatency || r.Test.SpinUs != 20 {
		t.Errorf("--spin 20us: low latency %v, spin %v us", r.Test.LowLatency, r.Test.SpinUs)
	}
	srv, port := startServer(t, "--low-latency", "--json")
	if !strings.Contains(srv.stderr.String(), "low latency") {
		t.Errorf("the server's start line does not name the mode:\n%s", srv.stderr.String())
	}
	if r := latencyDoc(t, "--host", "127.0.0.1", "--port", fmt.Sprint(port)); !r.Test.LowLatency {
		t.Error("latency --host did not use the low-latency mode by default")
	}
}
