package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/bench/account"
	"udpstream.dev/bench/report"
)

func TestIperfForm(t *testing.T) {
	cases := []struct {
		args []string
		name string
		rest []string
		err  string
	}{
		{[]string{"-s", "-p", "6000"}, "server", []string{"-p", "6000"}, ""},
		{[]string{"--server", "-1"}, "server", []string{"-1"}, ""},
		{[]string{"-c", "h", "-t", "5"}, "client", []string{"-c", "h", "-t", "5"}, ""},
		{[]string{"-u", "--client", "h"}, "client", []string{"-u", "-c", "h"}, ""},
		{[]string{"--client=h"}, "client", []string{"-c=h"}, ""},
		{[]string{"-c=h"}, "client", []string{"-c=h"}, ""},
		{[]string{"-v"}, "version", nil, ""},
		{[]string{"-V"}, "version", nil, ""},
		{[]string{"--version"}, "version", nil, ""},
		{[]string{"-s", "-c", "h"}, "", nil, "exclude each other"},
		{[]string{"-p", "5201"}, "", nil, "no command"},
		{[]string{"-v", "-s"}, "", nil, "no other arguments"},
	}
	for _, c := range cases {
		name, rest, ok, err := iperfForm(c.args)
		if !ok {
			t.Fatalf("%v: not taken as iperf3's form", c.args)
		}
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("%v: error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || name != c.name || !reflect.DeepEqual(rest, c.rest) {
			t.Fatalf("%v: %q %q %v, want %q %q", c.args, name, rest, err, c.name, c.rest)
		}
	}
	if _, _, ok, _ := iperfForm([]string{"server", "-p", "1"}); ok {
		t.Fatal("a subcommand was taken as iperf3's form")
	}
}

// Flags udpperf does not implement are usage errors, never ignored.
func TestIperfFlagsUnknownAreUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-c", "127.0.0.1", "-w", "1M"}, "-w"},
		{[]string{"-c", "127.0.0.1", "-V"}, "-V"},
		{[]string{"client", "-c"}, "flag needs an argument"},
		{[]string{"-s", "-c", "127.0.0.1"}, "exclude each other"},
		{[]string{"-s", "-A", "1"}, "-A"},
		{[]string{"-c", "127.0.0.1", "-t", "soon"}, "duration"},
		{[]string{"-c", "127.0.0.1", "-b", "fast"}, "rate"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		if code := realMain(rawArgs(c.args), &out, &errOut); code != exitUsage {
			t.Fatalf("%v: exit %d, want %d; stderr %q", c.args, code, exitUsage, errOut.String())
		}
		if line := oneLineError(t, errOut.String()); !strings.Contains(line, c.want) {
			t.Fatalf("%v: error %q does not say %q", c.args, line, c.want)
		}
	}
}

func TestHelpShowsIperfNames(t *testing.T) {
	var out bytes.Buffer
	if code := realMain(rawArgs([]string{"client", "--help"}), &out, &out); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"-c, --host", "-p, --port", "-t, --time", "-b, --rate", "-l, --size", "-i, --interval", "-J, --json", "-O, --omit", "-u, --udp", "-A, --affinity", "-B, --bind"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("client --help lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "--c ") {
		t.Fatalf("a short name is listed as a flag of its own:\n%s", out.String())
	}
	out.Reset()
	if code := realMain([]string{"-v"}, &out, &out); code != exitOK || !strings.HasPrefix(out.String(), "udpperf ") {
		t.Fatalf("-v: exit %d, %q", code, out.String())
	}
}

// startIperfServer starts `udpperf -s` (iperf3's form) on a free port.
func startIperfServer(t *testing.T, args ...string) (*proc, int) {
	t.Helper()
	return startOnFreePorts(t, 1, func(port int) []string {
		return append([]string{"-s", "-p", fmt.Sprint(port), "-B", "127.0.0.1"}, args...)
	})
}

// iperfTest runs `udpperf -c` with args and -J against a one-off server
// (-1 -J); both must exit 0. It returns both JSON reports and the
// server's log.
func iperfTest(t *testing.T, args ...string) (bench.ClientReport, bench.ServerReport, string) {
	t.Helper()
	srv, port := startIperfServer(t, "-1", "-J")
	args = append([]string{"-c", "127.0.0.1", "-p", fmt.Sprint(port)}, append(args, "-J")...)
	out, errOut, code := run(t, 30*time.Second, args...)
	if code != 0 {
		t.Fatalf("client exit %d:\n%s", code, errOut)
	}
	if c := srv.wait(t, 10*time.Second); c != 0 {
		t.Fatalf("server exit %d:\n%s", c, srv.stderr.String())
	}
	var cl bench.ClientReport
	if err := json.Unmarshal([]byte(out), &cl); err != nil {
		t.Fatalf("client JSON: %v\n%s", err, out)
	}
	var sv bench.ServerReport
	if err := json.Unmarshal([]byte(srv.stdout.String()), &sv); err != nil {
		t.Fatalf("server JSON: %v\n%s", err, srv.stdout.String())
	}
	return cl, sv, srv.stderr.String()
}

func TestIperfShortFlagsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("short: iperf3 flag spellings end to end; TestIperfForm checks their parsing")
	}
	srv, port := startIperfServer(t, "-1", "-J", "-i", "0.1")
	// `udpperf client -c HOST` as well as `udpperf -c HOST`.
	out, errOut, code := run(t, 30*time.Second, "client", "-c", "127.0.0.1", "-u", "-p", fmt.Sprint(port),
		"-t", "0.5", "-b", "20M", "-l", "1000", "-i", "0.1", "-O", "0.3", "-J")
	if code != 0 {
		t.Fatalf("client exit %d:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "(omitted)") {
		t.Fatalf("no omitted interval lines:\n%s", errOut)
	}
	var cl bench.ClientReport
	if err := json.Unmarshal([]byte(out), &cl); err != nil {
		t.Fatalf("client JSON: %v\n%s", err, out)
	}
	if c := srv.wait(t, 10*time.Second); c != 0 {
		t.Fatalf("server exit %d (a one-off server must outlast the warm-up):\n%s", c, srv.stderr.String())
	}
	var sv bench.ServerReport
	if err := json.Unmarshal([]byte(srv.stdout.String()), &sv); err != nil {
		t.Fatalf("server JSON: %v\n%s", err, srv.stdout.String())
	}
	ts := cl.Start.TestStart
	if ts.Protocol != "UDP" || ts.Blksize != 1000 || ts.NumStreams != 1 || ts.Omit != 0.3 || ts.Duration != 0.5 || ts.TargetBitrate != 20e6 {
		t.Fatalf("test_start %+v", ts)
	}
	// Warm-up intervals first, marked; the measured ones after.
	var omitted, measured int
	for _, iv := range cl.Intervals {
		switch {
		case iv.Sum.Omitted && measured == 0:
			omitted++
		case !iv.Sum.Omitted:
			measured++
		default:
			t.Fatalf("an omitted interval after measured ones: %+v", cl.Intervals)
		}
	}
	if omitted < 2 || measured < 3 {
		t.Fatalf("%d omitted and %d measured intervals", omitted, measured)
	}
	// The totals are the measured test's alone.
	sum, got := cl.End.Sum, cl.End.SumReceived
	if got == nil || sum.Packets != cl.End.SumSent.Packets || got.SentPackets != sum.Packets || got.Packets+got.LostPackets != sum.Packets {
		t.Fatalf("end.sum %+v, sum_sent %+v, sum_received %+v", sum, cl.End.SumSent, got)
	}
	if want := 0.5 * 20e6 / 8000; float64(sum.Packets) < 0.8*want || float64(sum.Packets) > 1.2*want {
		t.Fatalf("sent %d datagrams in the measured 0.5 s, want about %.0f (the warm-up must not count)", sum.Packets, want)
	}
	if !sum.LossKnown || sum.JitterMs <= 0 || sum.JitterMs > 1000 || got.JitterMs != sum.JitterMs {
		t.Fatalf("jitter %v ms (received %v)", sum.JitterMs, got.JitterMs)
	}
	if len(sv.Intervals) < 4 || !sv.Intervals[0].Sum.Omitted || sv.Intervals[len(sv.Intervals)-1].Sum.Omitted {
		t.Fatalf("the server's intervals do not mark the warm-up: %+v", sv.Intervals)
	}
	if len(sv.End.Sessions) != 2 || !sv.End.Sessions[0].Omitted || sv.End.Sessions[1].Omitted || sv.End.Sessions[1].ID != got.ID {
		t.Fatalf("server sessions %+v", sv.End.Sessions)
	}
	if cl.Start.Cookie != got.ID.String() || !strings.Contains(out, `"id": "`+got.ID.String()+`"`) {
		t.Fatalf("cookie %q, id %v", cl.Start.Cookie, got.ID)
	}
}

// keyPaths lists every key path of a JSON document with its JSON type;
// array elements are merged under "[]".
func keyPaths(v any, prefix string, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		out[prefix] = "object"
		for k, e := range x {
			keyPaths(e, prefix+"."+k, out)
		}
	case []any:
		out[prefix] = "array"
		for _, e := range x {
			keyPaths(e, prefix+"[]", out)
		}
	case string:
		out[prefix] = "string"
	case float64:
		out[prefix] = "number"
	case bool:
		out[prefix] = "boolean"
	case nil:
		out[prefix] = "null"
	}
}

func pathsOf(t *testing.T, doc string) map[string]string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	out := map[string]string{}
	keyPaths(v, "", out)
	return out
}

// iperfOnly are iperf3 key paths udpperf has no counterpart for, and why.
var iperfOnly = map[string]string{
	".start.sock_bufsize":  "iperf3 -w; udpperf's server sets its buffer with --rx-buffer, its client uses the default",
	".start.sndbuf_actual": "not read back from the socket",
	".start.rcvbuf_actual": "not read back from the socket",
	// A server learns the client's counts at the end of a test, not its
	// CPU use.
	".end.cpu_utilization_percent.remote_total":  "server",
	".end.cpu_utilization_percent.remote_user":   "server",
	".end.cpu_utilization_percent.remote_system": "server",
}

// checkSubset fails for every iperf3 key path missing from udpperf's
// document or of another JSON type there.
func checkSubset(t *testing.T, what string, iperf, udpperf map[string]string) {
	t.Helper()
	var bad []string
	for p, typ := range iperf {
		if _, skip := iperfOnly[p]; skip {
			continue
		}
		if got, ok := udpperf[p]; !ok {
			bad = append(bad, p+" missing")
		} else if got != typ {
			bad = append(bad, fmt.Sprintf("%s is %s, iperf3 has %s", p, got, typ))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Fatalf("%s JSON differs from iperf3's:\n  %s", what, strings.Join(bad, "\n  "))
	}
}

// iperf3JSON runs the Debian iperf3 package's server and UDP client with
// -J on loopback and returns both documents.
func iperf3JSON(t *testing.T) (client, server string) {
	t.Helper()
	iperf3, err := exec.LookPath("iperf3")
	if err != nil {
		t.Skip("iperf3 is not installed (scripts/setup.sh installs the Debian package)")
	}
	port := freePort(t)
	srv := exec.Command(iperf3, "-s", "-1", "-p", fmt.Sprint(port), "-J")
	var srvOut lockedBuffer
	srv.Stdout = &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	defer func() {
		srv.Process.Kill()
		<-done
	}()
	var cl []byte
	tries := 0
	for range 50 { // until the server listens
		tries++
		cl, err = exec.Command(iperf3, "-u", "-c", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "1", "-J").Output()
		var doc struct{ Error string }
		if err == nil && json.Unmarshal(cl, &doc) == nil && doc.Error != "" {
			// iperf3 3.12 -J reports a refused connection in the
			// document, with exit status 0.
			err = errors.New(doc.Error)
		}
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("iperf3 client, %d tries: %v\n%s", tries, err, cl)
	}
	select {
	case <-done:
		done <- nil
	case <-time.After(20 * time.Second):
		t.Fatalf("iperf3 -s -1 did not exit within 20 s of its test (client tries %d); its output:\n%s\nthe client's:\n%s", tries, srvOut.String(), cl)
	}
	return string(cl), srvOut.String()
}

// Scripts written for iperf3 -u -J find their keys in udpperf's JSON.
func TestJSONHasIperf3Keys(t *testing.T) {
	if testing.Short() {
		t.Skip("short: JSON key coverage; TestServerAndClientProcesses covers -J end to end")
	}
	ipClient, ipServer := iperf3JSON(t)
	srv, port := startIperfServer(t, "-1", "-J")
	out, errOut, code := run(t, 30*time.Second, "-c", "127.0.0.1", "-u", "-p", fmt.Sprint(port), "-t", "1", "-b", "10M", "-J")
	if code != 0 {
		t.Fatalf("client exit %d:\n%s", code, errOut)
	}
	if c := srv.wait(t, 10*time.Second); c != 0 {
		t.Fatalf("server exit %d:\n%s", c, srv.stderr.String())
	}
	checkSubset(t, "udpperf -c", pathsOf(t, ipClient), pathsOf(t, out))
	checkSubset(t, "udpperf -s", pathsOf(t, ipServer), pathsOf(t, srv.stdout.String()))
}

// event is one line of --json-stream.
type event struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// events parses a --json-stream output; every line must be one event.
func events(t *testing.T, out string) []event {
	t.Helper()
	var evs []event
	for line := range strings.SplitSeq(strings.TrimRight(out, "\n"), "\n") {
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Event == "" {
			t.Fatalf("not an event line (%v): %q", err, line)
		}
		evs = append(evs, ev)
	}
	return evs
}

// checkStream checks the order start, interval..., end, each interval
// holding 1 to maxStreams streams, and decodes the events.
func checkStream(t *testing.T, who string, evs []event, maxStreams int) (start report.Start, ivs []report.IntervalRecord, end map[string]any) {
	t.Helper()
	if len(evs) < 3 || evs[0].Event != "start" || evs[len(evs)-1].Event != "end" {
		t.Fatalf("%s: events %+v", who, evs)
	}
	if err := json.Unmarshal(evs[0].Data, &start); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs[1 : len(evs)-1] {
		var iv report.IntervalRecord
		if ev.Event != "interval" || json.Unmarshal(ev.Data, &iv) != nil || len(iv.Streams) < 1 || len(iv.Streams) > maxStreams {
			t.Fatalf("%s: %s event %s", who, ev.Event, ev.Data)
		}
		ivs = append(ivs, iv)
	}
	if err := json.Unmarshal(evs[len(evs)-1].Data, &end); err != nil {
		t.Fatal(err)
	}
	return start, ivs, end
}

func TestJSONStreamIsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a 3 s stream of live intervals; TestParallelStreamsEndToEnd covers the client")
	}
	srv, port := startIperfServer(t, "-1", "--json-stream", "-i", "0.2")
	cl := start(t, "-c", "127.0.0.1", "-p", fmt.Sprint(port), "-t", "1.5", "-b", "10M", "-i", "0.2", "--json-stream")
	// An interval event arrives while the client still runs.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(cl.stdout.String(), `"event":"interval"`) {
		select {
		case err := <-cl.done:
			t.Fatalf("the client ended (%v) before any interval event appeared:\n%s", err, cl.stdout.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no interval event within 10 s; stderr:\n%s", cl.stderr.String())
		}
	}
	if code := cl.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("client exit %d:\n%s", code, cl.stderr.String())
	}
	if code := srv.wait(t, 10*time.Second); code != 0 {
		t.Fatalf("server exit %d:\n%s", code, srv.stderr.String())
	}
	st, ivs, end := checkStream(t, "client", events(t, cl.stdout.String()), 1)
	if st.TestStart.Protocol != "UDP" || len(ivs) < 5 || !ivs[0].Sum.Sender {
		t.Fatalf("client start %+v, %d intervals", st.TestStart, len(ivs))
	}
	if sum, ok := end["sum"].(map[string]any); !ok || sum["packets"].(float64) <= 0 {
		t.Fatalf("client end event %v", end)
	}
	_, ivs, end = checkStream(t, "server", events(t, srv.stdout.String()), 1)
	if ivs[0].Sum.Sender || end["sum_received"].(map[string]any)["packets"].(float64) <= 0 {
		t.Fatalf("server intervals %+v, end %v", ivs, end)
	}
}

func TestJSONStreamReportsErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	out, _, code := run(t, 15*time.Second, "-c", "127.0.0.1", "-p", fmt.Sprint(freePort(t)), "-t", "1", "--json-stream")
	evs := events(t, out)
	var msg string
	if code != exitError || len(evs) != 1 || evs[0].Event != "error" || json.Unmarshal(evs[0].Data, &msg) != nil || !strings.Contains(msg, "no udpperf server") {
		t.Fatalf("exit %d, events %s", code, out)
	}
}

func TestReverseEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	cl, sv, srvLog := iperfTest(t, "-R", "-t", "0.5", "-b", "20M", "-l", "1000", "-i", "0.1")
	sent, got := cl.End.SumSent, cl.End.SumReceived
	if cl.Start.TestStart.Reverse != 1 || got == nil || sent.Packets == 0 || got.SentPackets != sent.Packets || got.Packets+got.LostPackets != sent.Packets {
		t.Fatalf("sum_sent %+v, sum_received %+v", sent, got)
	}
	if want := 0.5 * 20e6 / 8000; float64(sent.Packets) < 0.8*want || float64(sent.Packets) > 1.2*want {
		t.Fatalf("the server sent %d datagrams, want about %.0f", sent.Packets, want)
	}
	if got.Payload != 1000 || got.Bytes != got.Packets*1000 || got.JitterMs <= 0 {
		t.Fatalf("received %+v", got)
	}
	if len(cl.Intervals) < 3 || cl.Intervals[0].Sum.Sender {
		t.Fatalf("the client's intervals are not the receiving side's: %+v", cl.Intervals)
	}
	rev := sv.End.Reverse
	if len(rev) != 1 || rev[0].Error != "" || rev[0].Sent.Packets != sent.Packets || rev[0].Received == nil || rev[0].Received.Packets != got.Packets || sv.End.SumSent.Packets != sent.Packets {
		t.Fatalf("server reverse sessions %+v", rev)
	}
	if !strings.Contains(srvLog, "reverse session") {
		t.Fatalf("server log:\n%s", srvLog)
	}
}

func TestReverseRefusesWhatItCannotDo(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "127.0.0.1", "-R", "--no-session"}, "--no-session"},
		{[]string{"-c", "127.0.0.1", "-R", "-O", "1"}, "-O"},
		{[]string{"-c", "127.0.0.1", "-R", "-A", "0"}, "-A"},
	} {
		var out, errOut bytes.Buffer
		if code := realMain(rawArgs(c.args), &out, &errOut); code != exitUsage || !strings.Contains(oneLineError(t, errOut.String()), c.want) {
			t.Fatalf("%v: exit %d, %q", c.args, code, errOut.String())
		}
	}
}

func TestBidirEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	cl, sv, _ := iperfTest(t, "--bidir", "-t", "0.5", "-b", "10M", "-l", "1000", "-i", "0.1")
	e := cl.End
	fwdSent, fwdGot, backSent, backGot := e.SumSent, e.SumReceived, e.SumSentBidirReverse, e.SumReceivedBidirReverse
	if fwdGot == nil || backSent == nil || backGot == nil {
		t.Fatalf("end lacks a direction: %+v", e)
	}
	want := 0.5 * 10e6 / 8000
	for _, d := range []struct {
		name string
		sent uint64
		got  *account.SessionSummary
	}{{"forward", fwdSent.Packets, fwdGot}, {"reverse", backSent.Packets, backGot}} {
		if float64(d.sent) < 0.7*want || float64(d.sent) > 1.2*want || d.got.SentPackets != d.sent || d.got.Packets+d.got.LostPackets != d.sent {
			t.Fatalf("%s: sent %d, received %+v (want about %.0f sent)", d.name, d.sent, d.got, want)
		}
	}
	if len(e.Streams) != 2 || e.Streams[1].UDP.Packets != backSent.Packets {
		t.Fatalf("end.streams %+v", e.Streams)
	}
	for _, iv := range cl.Intervals {
		if len(iv.Streams) != 2 || iv.SumBidirReverse == nil || !iv.Streams[0].Sender || iv.Streams[1].Sender || iv.SumBidirReverse.Sender {
			t.Fatalf("interval %+v", iv)
		}
	}
	if len(sv.End.Sessions) != 1 || sv.End.Sessions[0].Packets != fwdGot.Packets || len(sv.End.Reverse) != 1 || sv.End.Reverse[0].Sent.Packets != backSent.Packets {
		t.Fatalf("server sessions %+v, reverse %+v", sv.End.Sessions, sv.End.Reverse)
	}
}

func TestBidirRefusesWhatItCannotDo(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "127.0.0.1", "-R", "--bidir"}, "exclude each other"},
		{[]string{"-c", "127.0.0.1", "--bidir", "--no-session"}, "--no-session"},
		{[]string{"-c", "127.0.0.1", "--bidir", "-O", "1"}, "-O"},
	} {
		var out, errOut bytes.Buffer
		if code := realMain(rawArgs(c.args), &out, &errOut); code != exitUsage || !strings.Contains(oneLineError(t, errOut.String()), c.want) {
			t.Fatalf("%v: exit %d, %q", c.args, code, errOut.String())
		}
	}
}
