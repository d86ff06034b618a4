package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench"
)

// startParallelServer starts `udpperf server -P n` on n free consecutive
// ports, retrying when one was taken.
func startParallelServer(t *testing.T, n int, args ...string) (*proc, int) {
	t.Helper()
	return startOnFreePorts(t, n, func(port int) []string {
		return append([]string{"server", "-P", fmt.Sprint(n), "--port", fmt.Sprint(port), "--bind", "127.0.0.1"}, args...)
	})
}

// Two streams as separate processes: each stream has its figures in every
// interval and at the end, on both sides, and they add up to the sums.
func TestParallelStreamsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	srv, port := startParallelServer(t, 2, "-1", "-J")
	cpus := fmt.Sprintf("0,%d", min(1, runtime.NumCPU()-1))
	out, errOut, code := run(t, 30*time.Second, "-c", "127.0.0.1", "-p", fmt.Sprint(port), "-P", "2", "-A", cpus,
		"-t", "0.6", "-b", "20M", "-l", "1000", "-i", "0.2", "-J")
	if code != 0 {
		t.Fatalf("client exit %d:\n%s", code, errOut)
	}
	if c := srv.wait(t, 10*time.Second); c != 0 {
		t.Fatalf("server exit %d:\n%s", c, srv.stderr.String())
	}
	for _, want := range []string{"[  1]", "[  2]", "[SUM]"} {
		if !strings.Contains(errOut, want) || !strings.Contains(srv.stderr.String(), want) {
			t.Fatalf("no %q lines; client:\n%s\nserver:\n%s", want, errOut, srv.stderr.String())
		}
	}
	var cl bench.ParallelReport
	if err := json.Unmarshal([]byte(out), &cl); err != nil {
		t.Fatalf("client JSON: %v\n%s", err, out)
	}
	checkParallelClient(t, cl, port)
	var sv bench.ServerReport
	if err := json.Unmarshal([]byte(srv.stdout.String()), &sv); err != nil {
		t.Fatalf("server JSON: %v\n%s", err, srv.stdout.String())
	}
	if len(sv.End.Sessions) != 2 || len(sv.End.Streams) != 2 || sv.Start.TestStart.NumStreams != 2 {
		t.Fatalf("server: sessions %+v, streams %+v", sv.End.Sessions, sv.End.Streams)
	}
	got := sv.End.Sessions[0].Packets + sv.End.Sessions[1].Packets
	if got != sv.End.SumReceived.Packets || got != cl.End.SumReceived.Packets {
		t.Fatalf("server received %d over its sessions, %d summed; client says %d", got, sv.End.SumReceived.Packets, cl.End.SumReceived.Packets)
	}
}

func checkParallelClient(t *testing.T, cl bench.ParallelReport, port int) {
	t.Helper()
	e := cl.End
	if cl.Start.TestStart.NumStreams != 2 || len(cl.Start.Connected) != 2 || cl.Start.Connected[1].RemotePort != port+1 {
		t.Fatalf("start %+v", cl.Start.IperfStart)
	}
	if len(e.Streams) != 2 || len(cl.Parallel) != 2 || e.SumReceived == nil {
		t.Fatalf("end %+v, parallel %+v", e, cl.Parallel)
	}
	want := 0.6 * 20e6 / 8000 // per stream
	var sent, recv uint64
	for i, s := range cl.Parallel {
		r := s.SumReceived
		if r == nil || float64(s.SumSent.Packets) < 0.7*want || float64(s.SumSent.Packets) > 1.2*want ||
			r.SentPackets != s.SumSent.Packets || s.Port != port+i || s.TxCPU != min(i, runtime.NumCPU()-1) || e.Streams[i].UDP.Packets != s.SumSent.Packets {
			t.Fatalf("stream %d: %+v (want about %.0f sent, CPU %d)", i+1, s, want, i)
		}
		sent += s.SumSent.Packets
		recv += r.Packets
	}
	if sent != e.SumSent.Packets || sent != e.Sum.Packets || recv != e.SumReceived.Packets {
		t.Fatalf("streams sent %d, received %d; sums %d/%d, %d", sent, recv, e.SumSent.Packets, e.Sum.Packets, e.SumReceived.Packets)
	}
	var ivSent uint64
	for _, iv := range cl.Intervals {
		var n uint64
		for _, s := range iv.Streams {
			n += s.Packets
		}
		if len(iv.Streams) != 2 || n != iv.Sum.Packets {
			t.Fatalf("interval %+v: streams add to %d", iv, n)
		}
		ivSent += n
	}
	if ivSent != sent {
		t.Fatalf("intervals add to %d, sent %d", ivSent, sent)
	}
}

func TestParallelRefusesWhatItCannotDo(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "127.0.0.1", "-P", "0"}, "-P"},
		{[]string{"-c", "127.0.0.1", "-P", "2", "-R"}, "-R"},
		{[]string{"-c", "127.0.0.1", "-P", "2", "--bidir"}, "--bidir"},
		{[]string{"-c", "127.0.0.1", "-P", "2", "-O", "1"}, "-O"},
		{[]string{"-c", "127.0.0.1", "-P", "2", "-A", "0,1,2"}, "-A"},
		{[]string{"-c", "127.0.0.1", "-A", "0,x"}, "CPU"},
		{[]string{"-s", "-P", "2", "-p", "0"}, "ports"},
		{[]string{"-s", "-P", "2", "--record", "x.dat"}, "--record"},
		{[]string{"-s", "-P", "999"}, "-P"},
	} {
		var out, errOut bytes.Buffer
		if code := realMain(rawArgs(c.args), &out, &errOut); code != exitUsage || !strings.Contains(oneLineError(t, errOut.String()), c.want) {
			t.Fatalf("%v: exit %d, %q", c.args, code, errOut.String())
		}
	}
}

// --json-stream with -P: the start lists both streams, every interval
// event has both and their sum, the end sums them.
func TestParallelJSONStream(t *testing.T) {
	if testing.Short() {
		t.Skip("short: -P with --json-stream; TestParallelStreamsEndToEnd covers -P")
	}
	srv, port := startParallelServer(t, 2, "-1", "--json-stream")
	out, errOut, code := run(t, 30*time.Second, "-c", "127.0.0.1", "-p", fmt.Sprint(port), "-P", "2",
		"-t", "0.5", "-b", "10M", "-l", "1000", "-i", "0.2", "--json-stream")
	if code != 0 {
		t.Fatalf("client exit %d:\n%s", code, errOut)
	}
	if c := srv.wait(t, 10*time.Second); c != 0 {
		t.Fatalf("server exit %d:\n%s", c, srv.stderr.String())
	}
	for who, doc := range map[string]string{"client": out, "server": srv.stdout.String()} {
		start, ivs, end := checkStream(t, who, events(t, doc), 2)
		if start.TestStart.NumStreams != 2 || len(start.Connected) != 2 || len(ivs) == 0 {
			t.Fatalf("%s: start %+v, %d intervals", who, start.IperfStart, len(ivs))
		}
		for _, iv := range ivs {
			if n := len(iv.Streams); n == 0 || n > 2 || (n == 2 && iv.Sum.Packets != iv.Streams[0].Packets+iv.Streams[1].Packets) {
				t.Fatalf("%s: interval %+v", who, iv)
			}
		}
		if s, ok := end["streams"].([]any); !ok || len(s) != 2 {
			t.Fatalf("%s: end.streams %v", who, end["streams"])
		}
	}
}
