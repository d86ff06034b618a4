package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/engine/zmq"
)

func TestBridgeCommandLineErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bridge"}, "--connect tcp://HOST:PORT is required"},
		{[]string{"bridge", "--connect", "http://127.0.0.1:9000"}, "want tcp://HOST:PORT"},
		{[]string{"bridge", "--connect", "tcp://127.0.0.1"}, "want tcp://HOST:PORT"},
		{[]string{"bridge", "--connect", "tcp://*:9000"}, "needs a host"},
		{[]string{"bridge", "--connect", "tcp://127.0.0.1:65535"}, "port outside 1..65534"},
		{[]string{"server", "--bridge", "tcp://127.0.0.1:0"}, "port outside 1..65534"},
		{[]string{"server", "--bridge", "127.0.0.1:9000"}, "want tcp://HOST:PORT"},
	} {
		var out, errOut bytes.Buffer
		if code := realMain(rawArgs(c.args), &out, &errOut); code != exitUsage {
			t.Fatalf("%v: exit %d, stderr %q", c.args, code, errOut.String())
		}
		if line := oneLineError(t, errOut.String()); !strings.Contains(line, c.want) {
			t.Fatalf("%v: error %q does not say %q", c.args, line, c.want)
		}
	}
	var out bytes.Buffer
	if code := realMain([]string{"bridge", "--help"}, &out, &out); code != exitOK || !strings.Contains(out.String(), "usage: udpperf bridge") {
		t.Fatalf("bridge --help: exit %d\n%s", code, out.String())
	}
}

// bridgePort finds two adjacent free TCP ports on loopback.
func bridgePort(t *testing.T) int {
	t.Helper()
	b, err := zmq.NewTcpServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	return b.Port()
}

// TestBridgeProcesses runs client -> server --bridge -> bridge as three
// processes: the session's loss and PRBS are followed end to end.
func TestBridgeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	bp := bridgePort(t)
	url := fmt.Sprintf("tcp://127.0.0.1:%d", bp)
	srv, port := startServer(t, "--one-off", "--json", "--bridge", url, "--bridge-wait", "5s")
	br := start(t, "bridge", "--connect", url, "--prbs", "--json", "--idle-exit", "1s", "--interval", "100ms")
	br.waitFor(t, "udpperf bridge: connecting", 10*time.Second)
	cl := runPRBSClient(t, port)
	sent := cl.End.SumSent.Packets
	if c := br.wait(t, 20*time.Second); c != 0 {
		t.Fatalf("bridge exit %d:\n%s", c, br.stderr.String())
	}
	var rep bench.BridgeReport
	if err := json.Unmarshal([]byte(br.stdout.String()), &rep); err != nil {
		t.Fatalf("bridge JSON: %v\n%s", err, br.stdout.String())
	}
	s := rep.End.Sessions
	if sent == 0 || len(s) != 1 || s[0].SentPackets != sent || s[0].Packets != sent || s[0].LostPackets != 0 || s[0].PRBSErrors != 0 {
		t.Fatalf("client sent %d; bridge sessions %+v", sent, s)
	}
	if rep.End.SumReceived.PRBSErrors != 0 || len(rep.Intervals) == 0 || rep.Bridge.RxMalformed != 0 {
		t.Fatalf("bridge report: %+v, bridge %+v", rep.End.SumReceived, rep.Bridge)
	}
	if !strings.Contains(br.stderr.String(), "bridge   sent 0 frames") {
		t.Fatalf("bridge summary line:\n%s", br.stderr.String())
	}
	if c := srv.wait(t, 10*time.Second); c != 0 {
		t.Fatalf("server exit %d:\n%s", c, srv.stderr.String())
	}
	var sv struct {
		bench.ServerReport
		Bridge zmq.Stats `json:"bridge"`
	}
	if err := json.Unmarshal([]byte(srv.stdout.String()), &sv); err != nil {
		t.Fatalf("server JSON: %v", err)
	}
	b := sv.Bridge
	if b.TxFrames != rep.Bridge.RxFrames || b.TxFrames < sent || b.TxNoPeer+b.TxTimeouts+b.TxErrors != 0 {
		t.Fatalf("server's bridge %+v; the bridge received %d", b, rep.Bridge.RxFrames)
	}
}

// runPRBSClient runs udpperf client for 0.5 s of 1472-byte PRBS datagrams
// at 20k a second into port and returns its JSON report.
func runPRBSClient(t *testing.T, port int) bench.ClientReport {
	t.Helper()
	out, errOut, code := run(t, 30*time.Second, "client", "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"--time", "0.5", "--rate", "20kpps", "--prbs", "--size", "1472", "--json")
	if code != 0 {
		t.Fatalf("client exit %d:\n%s", code, errOut)
	}
	var cl bench.ClientReport
	if err := json.Unmarshal([]byte(out), &cl); err != nil {
		t.Fatalf("client JSON: %v", err)
	}
	return cl
}
