package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"udpstream.dev/bench"
	"udpstream.dev/bench/netns"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine/prbs"
)

// binary is the udpperf the end-to-end tests start: built once, or under
// -short this test binary itself, which runs udpperf when asUdpperf is set
// in its environment (a link less in the quick loop).
var binary string

// asUdpperf names the environment variable that makes the test binary
// udpperf.
const asUdpperf = "UDPPERF_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asUdpperf) == "1" {
		os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	flag.Parse()
	cleanup, err := prepareBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	cleanup()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// prepareBinary sets binary: under -short to this test binary (its
// children inherit asUdpperf), otherwise to udpperf built into a
// temporary folder that the returned function removes.
func prepareBinary() (func(), error) {
	if testing.Short() {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		binary = self
		return func() {}, os.Setenv(asUdpperf, "1")
	}
	dir, err := os.MkdirTemp("", "udpperf-test")
	if err != nil {
		return nil, err
	}
	binary = filepath.Join(dir, "udpperf")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	build := exec.Command(goTool, "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("building udpperf: %w", err)
	}
	return func() { os.RemoveAll(dir) }, nil
}

// rawArgs adds --raw to a server or client command line: the tests that
// use run, start and rawArgs exercise the plain-datagram mode; those of
// iperf3's protocol (the default) use runBin and startBin.
func rawArgs(args []string) []string {
	if len(args) == 0 {
		return args
	}
	if wantsRSSI(args) {
		return args // the RSSI mode is a mode of its own
	}
	switch a := args[0]; {
	case a == "server" || a == "client" || a == "-s" || a == "--server" || a == "-c" || a == "--client" ||
		strings.HasPrefix(a, "-c=") || strings.HasPrefix(a, "--client="):
		return append(append([]string(nil), args...), "--raw")
	}
	return args
}

// run executes udpperf (a server or client in --raw mode) with a deadline
// and returns its output and exit status.
func run(t *testing.T, timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runBin(t, timeout, rawArgs(args)...)
}

// runBin executes udpperf with args as given.
func runBin(t *testing.T, timeout time.Duration, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("udpperf %v did not finish within %v\nstderr:\n%s", args, timeout, e.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// freePort finds a UDP port on 127.0.0.1 that nothing is bound to. Another
// process may take it before the caller does; callers retry.
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a udpperf process running in the background.
type proc struct {
	cmd    *exec.Cmd
	stdout lockedBuffer
	stderr lockedBuffer
	done   chan error
}

// start starts udpperf (a server or client in --raw mode).
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startBin(t, rawArgs(args)...)
}

// startBin starts udpperf with args as given.
func startBin(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitFor waits until the process's stderr contains s, or it exits.
func (p *proc) waitFor(t *testing.T, s string, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(p.stderr.String(), s) {
			return true
		}
		select {
		case err := <-p.done:
			p.done <- err
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%q did not appear within %v; stderr:\n%s", s, timeout, p.stderr.String())
	return false
}

// wait waits for the process to exit and returns its status.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("process did not exit within %v; stderr:\n%s", timeout, p.stderr.String())
		return -1
	}
}

// startServer starts `udpperf server` on a free port, retrying when the
// port was taken in the meantime.
func startServer(t *testing.T, args ...string) (*proc, int) {
	t.Helper()
	return startOnFreePorts(t, 1, func(port int) []string {
		return append([]string{"server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1"}, args...)
	})
}

// startOnFreePorts starts udpperf with the arguments argv gives for a
// free base port, and waits until it listens on n consecutive ports from
// there; it tries other ports while the one it picked was taken meanwhile.
func startOnFreePorts(t *testing.T, n int, argv func(port int) []string) (*proc, int) {
	t.Helper()
	return startOnFreePortsWith(t, n, start, argv)
}

// startOnFreePortsWith is startOnFreePorts with the starter given (start
// for the --raw mode, startBin for iperf3's protocol).
func startOnFreePortsWith(t *testing.T, n int, starter func(*testing.T, ...string) *proc, argv func(port int) []string) (*proc, int) {
	t.Helper()
	for range 10 {
		port := freePort(t)
		if port+n-1 > 65535 {
			continue
		}
		p := starter(t, argv(port)...)
		ok := true
		for i := range n {
			ok = ok && p.waitFor(t, fmt.Sprintf("listening on UDP port %d ", port+i), 10*time.Second)
		}
		if ok {
			return p, port
		}
		if !strings.Contains(p.stderr.String(), "already in use") {
			t.Fatalf("server did not start:\n%s", p.stderr.String())
		}
	}
	t.Fatal("no free ports found")
	return nil, 0
}

func oneLineError(t *testing.T, stderr string) string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	if len(lines) != 1 || strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
		t.Fatalf("want one error line, got:\n%s", stderr)
	}
	return lines[0]
}

func TestCommandLineErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bench", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"client"}, exitUsage, "--host is required"},
		{[]string{"client", "--host", "127.0.0.1", "--rate", "fast"}, exitUsage, "rate"},
		{[]string{"client", "--host", "127.0.0.1", "--size", "9000"}, exitUsage, "payload 9000"},
		{[]string{"client", "--host", "127.0.0.1", "--size", "1470", "--prbs"}, exitUsage, "PRBS word"},
		{[]string{"server", "--transport", "carrier-pigeon"}, exitUsage, "unknown transport"},
		{[]string{"server", "--transport", "xdp"}, exitUsage, "needs --iface"},
		{[]string{"client", "--host", "127.0.0.1", "--transport", "xdp", "--iface", "nonexistent0", "--queue", "1", "--time", "1"}, exitError, "nonexistent0"},
		{[]string{"bench", "--transport", "xdp"}, exitUsage, "--netns"},
		{[]string{"latency", "--transport", "xdp"}, exitUsage, "--netns"},
		{[]string{"server", "--transport", "mmsg", "--queue", "-1"}, exitUsage, "--transport xdp only"},
		{[]string{"server", "--iface", "eth0"}, exitUsage, "--transport xdp only"},
		{[]string{"server", "stray"}, exitUsage, "unexpected argument"},
		{[]string{"server", "--time", "soon"}, exitUsage, "duration"},
		{[]string{"server", "--batch", "0"}, exitUsage, "--batch 0 outside 1..1024"},
		{[]string{"server", "--batch", "5000"}, exitUsage, "--batch 5000"},
		{[]string{"client", "--host", "127.0.0.1", "--batch", "0"}, exitUsage, "--batch 0"},
		{[]string{"bench", "--size", "1472,abc"}, exitUsage, "size"},
		{[]string{"bench", "--chart", "out.gif"}, exitUsage, ".svg or .png"},
		{[]string{"latency", "--host", "127.0.0.1", "--netns"}, exitUsage, "exclude"},
		{[]string{"warp"}, exitUsage, "unknown command"},
		{nil, exitUsage, ""},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := realMain(rawArgs(c.args), &out, &errOut)
		if code != c.code {
			t.Fatalf("%v: exit %d, want %d; stderr %q", c.args, code, c.code, errOut.String())
		}
		if c.want == "" {
			continue
		}
		line := oneLineError(t, errOut.String())
		if !strings.Contains(line, c.want) || !strings.HasPrefix(line, "udpperf") {
			t.Fatalf("%v: error %q does not say %q", c.args, line, c.want)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, name := range []string{"server", "client", "bench", "latency", "version"} {
		var out, errOut bytes.Buffer
		if code := realMain([]string{name, "--help"}, &out, &errOut); code != exitOK || errOut.Len() != 0 {
			t.Fatalf("%s --help: exit %d, stderr %q", name, code, errOut.String())
		}
		if !strings.Contains(out.String(), "usage: udpperf "+name) {
			t.Fatalf("%s --help:\n%s", name, out.String())
		}
	}
	var out bytes.Buffer
	if realMain([]string{"--help"}, &out, io.Discard) != exitOK || !strings.Contains(out.String(), "latency") {
		t.Fatalf("top-level help:\n%s", out.String())
	}
	if realMain([]string{"version"}, &out, io.Discard) != exitOK || !strings.Contains(out.String(), "udpperf") {
		t.Fatal("version")
	}
}

func TestServerAndClientProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	srv, port := startServer(t, "--one-off", "--json", "--interval", "100ms")
	out, errOut, code := run(t, 30*time.Second, "client", "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"--time", "0.5", "--rate", "20kpps", "--prbs", "--size", "1024", "--transport", "gso", "--batch", "16", "--json", "--interval", "100ms")
	if code != 0 {
		t.Fatalf("client exit %d:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "datagrams/s") || !strings.Contains(errOut, "sender") {
		t.Fatalf("client progress on stderr:\n%s", errOut)
	}
	var cl bench.ClientReport
	if err := json.Unmarshal([]byte(out), &cl); err != nil {
		t.Fatalf("client JSON: %v\n%s", err, out)
	}
	if c := srv.wait(t, 10*time.Second); c != 0 {
		t.Fatalf("server exit %d:\n%s", c, srv.stderr.String())
	}
	var sv bench.ServerReport
	if err := json.Unmarshal([]byte(srv.stdout.String()), &sv); err != nil {
		t.Fatalf("server JSON: %v\n%s", err, srv.stdout.String())
	}
	sent, got := cl.End.SumSent.Packets, cl.End.SumReceived
	if sent == 0 || got == nil || got.Packets != sent || got.SentPackets != sent || got.LostPackets != 0 || got.PRBSErrors != 0 {
		t.Fatalf("client: sent %d, server says %+v", sent, got)
	}
	if sv.End.SumReceived.Packets != sent || len(sv.End.Sessions) != 1 || sv.End.Sessions[0].PRBSErrors != 0 {
		t.Fatalf("server report: %+v", sv.End)
	}
	if len(cl.Intervals) < 3 || len(sv.Intervals) < 3 || cl.Start.Test.Transport != "gro" || cl.Start.System.CPUs < 1 {
		t.Fatalf("intervals: client %d server %d; test %+v", len(cl.Intervals), len(sv.Intervals), cl.Start.Test)
	}
	// iperf3 field names are where iperf3 users look for them.
	for _, key := range []string{`"sum_sent"`, `"sum_received"`, `"bits_per_second"`, `"lost_packets"`, `"lost_percent"`, `"intervals"`, `"datagrams_per_second"`, `"cpu_ns_per_datagram"`, `"prbs_errors"`, `"kernel_drops"`, `"ring_drops"`} {
		if !strings.Contains(out, key) {
			t.Fatalf("client JSON lacks %s", key)
		}
	}
}

func TestServerPortInUse(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	port := c.LocalAddr().(*net.UDPAddr).Port
	_, errOut, code := run(t, 10*time.Second, "server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1")
	if code != exitError || !strings.Contains(oneLineError(t, errOut), "already in use") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestClientWithoutServer(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	port := freePort(t)
	_, errOut, code := run(t, 15*time.Second, "client", "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--time", "1")
	if code != exitError || !strings.Contains(oneLineError(t, errOut), "no udpperf server answered") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestServerExitsNonZeroOnPRBSErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	srv, port := startServer(t, "--prbs", "--idle-exit", "300ms", "--json")
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frame := make([]byte, 400)
	for seq := range uint32(20) {
		if err := prbs.Fill(frame, seq, 32); err != nil {
			t.Fatal(err)
		}
		if seq == 13 {
			frame[200] ^= 0x10 // one flipped bit
		}
		if _, err := conn.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	if code := srv.wait(t, 10*time.Second); code != exitPRBS {
		t.Fatalf("server exit %d, want %d:\n%s", code, exitPRBS, srv.stderr.String())
	}
	var sv bench.ServerReport
	if err := json.Unmarshal([]byte(srv.stdout.String()), &sv); err != nil {
		t.Fatal(err)
	}
	v := sv.End.SumReceived
	if v.Packets != 20 || v.PRBSErrors != 1 || v.LostPackets != 0 || !v.LossKnown || !strings.Contains(v.PRBSFirstError, "13") {
		t.Fatalf("server summary %+v", v)
	}
	if !strings.Contains(srv.stderr.String(), "PRBS check") {
		t.Fatalf("no PRBS failure line:\n%s", srv.stderr.String())
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		t.Fatalf("chart %s: %v (%d bytes)", path, err, len(data))
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart %s is not well-formed: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Fatalf("chart root element %q", root)
	}
}

func TestBenchWritesTableJSONAndChart(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	dir := t.TempDir()
	jsonPath, svgPath, pngPath := filepath.Join(dir, "b.json"), filepath.Join(dir, "b.svg"), filepath.Join(dir, "b.png")
	out, errOut, code := run(t, 60*time.Second, "bench", "--transport", "mmsg", "--size", "1472", "--batch", "8",
		"--time", "300ms", "--prbs", "--json", "--out", jsonPath, "--chart", svgPath)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	for _, want := range []string{"case 1/1: mmsg 1472 B batch 8 prbs", "transport", "rx ns/dgram", "chart: " + svgPath, "json: " + jsonPath} {
		if !strings.Contains(errOut, want) {
			t.Fatalf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	var doc report.SweepReport[report.Result]
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, out)
	}
	file, _ := os.ReadFile(jsonPath)
	if string(file) != out {
		t.Fatal("--out file differs from the --json document")
	}
	if len(doc.End.Results) != 1 || doc.Start.Test.Cases != 1 || doc.Start.System.Kernel == "" {
		t.Fatalf("document %+v", doc)
	}
	r := doc.End.Results[0]
	if r.Error != "" || r.SumSent.Packets == 0 || r.SumReceived.Packets+r.SumReceived.LostPackets != r.SumSent.Packets || r.SumReceived.PRBSErrors != 0 {
		t.Fatalf("result %+v", r)
	}
	checkSVG(t, svgPath)

	// Text mode: the table on stdout; a PNG chart.
	out, errOut, code = run(t, 60*time.Second, "bench", "--transport", "naive", "--size", "8972", "--time", "200ms", "--chart", pngPath)
	if code != 0 || !strings.Contains(out, "naive") || !strings.Contains(out, "8972") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("PNG chart: %v", err)
	}
}

func TestLatencyCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	out, errOut, code := run(t, 60*time.Second, "latency", "--transport", "mmsg", "--count", "200", "--json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	var doc report.SweepReport[bench.LatencyResult]
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.End.Results) != 1 || doc.End.Results[0].Samples != 200 || doc.End.Results[0].P99Us <= 0 {
		t.Fatalf("%+v", doc.End.Results)
	}
	if !strings.Contains(errOut, "p99.99 us") {
		t.Fatalf("no table on stderr:\n%s", errOut)
	}
}

// netnsUsable says why the namespace tests cannot run here, if they cannot.
func netnsUsable(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("short: creates network namespaces and a veth pair (root)")
	}
	if err := netns.CheckNamespaces(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	// The probe builds what --netns builds: two named namespaces and
	// their veth pair.
	ns, err := netns.NewNamespaces()
	if err != nil {
		t.Skipf("skipping: named namespaces with a veth pair cannot be made here: %v", err)
	}
	if err := ns.Close(); err != nil {
		t.Fatalf("removing the probe namespaces: %v", err)
	}
}

// namespacesOf lists the namespaces udpperf process pid created that
// still exist.
func namespacesOf(t *testing.T, pid int) []string {
	t.Helper()
	entries, err := os.ReadDir("/run/netns")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		for _, side := range []string{"rx", "tx"} {
			if strings.HasPrefix(e.Name(), fmt.Sprintf("udpperf-%s-%d-", side, pid)) {
				left = append(left, e.Name())
			}
		}
	}
	return left
}

func TestBenchNetns(t *testing.T) {
	netnsUsable(t)
	p := start(t, "bench", "--netns", "--transport", "gro,xdp", "--size", "1472,8972", "--batch", "8", "--time", "300ms", "--rate", "5kpps", "--prbs", "--json", "--chart", "")
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, p.stderr.String())
	}
	if left := namespacesOf(t, p.cmd.Process.Pid); len(left) > 0 {
		t.Fatalf("namespaces left behind: %v", left)
	}
	var doc report.SweepReport[report.Result]
	if err := json.Unmarshal([]byte(p.stdout.String()), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Start.Test.Network != "netns-veth" || len(doc.End.Results) != 4 {
		t.Fatalf("%+v", doc.Start.Test)
	}
	for _, r := range doc.End.Results {
		v := r.SumReceived
		if r.Error != "" || v.Packets == 0 || v.LostPackets > v.KernelDrops || v.PRBSErrors != 0 || r.Test.Network != "netns-veth" {
			t.Fatalf("%+v", r)
		}
	}
	if !strings.Contains(p.stderr.String(), "10.199.0.1") {
		t.Fatalf("stderr does not name the veth addresses:\n%s", p.stderr.String())
	}
}

func TestBenchNetnsCleansUpOnSIGINT(t *testing.T) {
	netnsUsable(t)
	p := start(t, "bench", "--netns", "--transport", "mmsg", "--size", "1472", "--batch", "8", "--time", "60s", "--rate", "10kpps", "--chart", "")
	if !p.waitFor(t, "case 1/1", 30*time.Second) {
		t.Fatalf("bench exited early:\n%s", p.stderr.String())
	}
	pid := p.cmd.Process.Pid
	if len(namespacesOf(t, pid)) != 2 {
		t.Fatalf("namespaces of %d during the run: %v", pid, namespacesOf(t, pid))
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	if code := p.wait(t, 30*time.Second); code != exitError {
		t.Fatalf("exit %d after SIGINT:\n%s", code, p.stderr.String())
	}
	if left := namespacesOf(t, pid); len(left) > 0 {
		t.Fatalf("namespaces left behind after SIGINT: %v", left)
	}
	if !strings.Contains(p.stderr.String(), "interrupted") {
		t.Fatalf("stderr:\n%s", p.stderr.String())
	}
}
