package main

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/engine/natsjs"
)

// freeTCPPort is a TCP port on loopback that was free a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestNATSCommandLineErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"consume"}, "want one nats://HOST:PORT/PREFIX"},
		{[]string{"consume", "tcp://127.0.0.1:4222/x"}, "want nats://HOST:PORT/PREFIX"},
		{[]string{"consume", "nats://127.0.0.1:4222"}, "want nats://HOST:PORT/PREFIX"},
		{[]string{"consume", "nats://127.0.0.1:4222/a*"}, "want nats://HOST:PORT/PREFIX"},
		{[]string{"server", "--publish", "nats://127.0.0.1/x"}, "want nats://HOST:PORT/PREFIX"},
		{[]string{"server", "--nats-embedded", "/tmp/x"}, "--nats-embedded needs --publish"},
		{[]string{"server", "--publish", "nats://127.0.0.1:4222/x", "--publish-pending", "1000"}, "--publish-pending 1000: at least a batch"},
		{[]string{"server", "-P", "2", "--publish", "nats://127.0.0.1:4222/x"}, "does not take --record, --bridge or --publish"},
	} {
		var out, errOut strings.Builder
		if code := realMain(rawArgs(c.args), &out, &errOut); code != exitUsage {
			t.Fatalf("%v: exit %d, stderr %q", c.args, code, errOut.String())
		}
		if line := oneLineError(t, errOut.String()); !strings.Contains(line, c.want) {
			t.Fatalf("%v: error %q does not say %q", c.args, line, c.want)
		}
	}
}

// TestConsumeUnreachable: no broker at the URL is a clear error, soon.
func TestConsumeUnreachable(t *testing.T) {
	url := fmt.Sprintf("nats://127.0.0.1:%d/x", freeTCPPort(t))
	start := time.Now()
	_, errOut, code := run(t, 30*time.Second, "consume", url)
	if code != exitError || !strings.Contains(errOut, "cannot connect") {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

// TestPublishConsumeProcesses runs udpperf client -> server --publish
// (with an in-process broker) -> JetStream -> consume --prbs as processes:
// every datagram the server received is read back once, in order, with
// no PRBS error, and the three reports agree.
func TestPublishConsumeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	dir := t.TempDir()
	url := fmt.Sprintf("nats://127.0.0.1:%d/udpperf.test", freeTCPPort(t))
	srv, port := startServer(t, "--one-off", "--json", "--publish", url, "--nats-embedded", dir)
	cl := runPRBSClient(t, port)
	if c := srv.wait(t, 30*time.Second); c != 0 {
		t.Fatalf("server exit %d:\n%s", c, srv.stderr.String())
	}
	var sr struct {
		End     bench.ServerEnd       `json:"end"`
		Publish natsjs.PublisherStats `json:"publish"`
	}
	if err := json.Unmarshal([]byte(srv.stdout.String()), &sr); err != nil {
		t.Fatalf("server JSON: %v\n%s", err, srv.stdout.String())
	}
	out, errOut, code := run(t, 60*time.Second, "consume", url, "--nats-embedded", dir, "--prbs", "--idle-exit", "1s", "--time", "30s", "-J")
	if code != 0 {
		t.Fatalf("consume exit %d:\n%s", code, errOut)
	}
	var cr struct {
		End       bench.ServerEnd    `json:"end"`
		JetStream natsjs.ReaderStats `json:"jetstream"`
	}
	if err := json.Unmarshal([]byte(out), &cr); err != nil {
		t.Fatalf("consume JSON: %v\n%s", err, out)
	}
	sent, got, pub := cl.End.SumSent.Packets, sr.End.SumReceived.Packets, sr.Publish
	read, s := cr.End.SumReceived, cr.End.Sessions
	t.Logf("client sent %d; server received %d, published %d frames, acked %d; consume read %d datagrams (%d frames)",
		sent, got, pub.Frames, pub.Acked, read.Packets, cr.JetStream.Frames)
	switch {
	case sent == 0 || got != sent || read.Packets != sent:
		t.Fatalf("sent %d, server received %d, consume read %d\nconsume summary %+v\nreader %+v\nconsume stderr:\n%s",
			sent, got, read.Packets, read, cr.JetStream, errOut)
	case pub.Acked != pub.Frames || pub.NotAcked() != 0 || cr.JetStream.Frames != pub.Acked:
		t.Fatalf("publisher %+v; reader %+v", pub, cr.JetStream)
	case read.PRBSErrors != 0 || read.OutOfOrder != 0 || read.LostPackets != 0 || cr.JetStream.Gaps != 0:
		t.Fatalf("consume summary %+v, reader %+v", read, cr.JetStream)
	case len(s) != 1 || s[0].SentPackets != sent || s[0].Packets != sent || s[0].LostPackets != 0:
		t.Fatalf("consume sessions %+v", s)
	}
}
