package main

import (
	le "encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/bench/account"
)

// dialServer connects a plain UDP socket to a server on 127.0.0.1.
func dialServer(t *testing.T, port int) *net.UDPConn {
	t.Helper()
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func send(t *testing.T, conn *net.UDPConn, b []byte) {
	t.Helper()
	if _, err := conn.Write(b); err != nil {
		t.Fatal(err)
	}
}

// rogueVectors reads the frames Rogue's own PRBS generator wrote
// (sequence 0..63, 1472 bytes, width 32).
func rogueVectors(t *testing.T) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "engine", "prbs", "testdata", "w32_1472.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for len(data) >= 4 {
		n := int(le.LittleEndian.Uint32(data))
		frames = append(frames, data[4:4+n])
		data = data[4+n:]
	}
	if len(frames) != 64 {
		t.Fatalf("%d frames", len(frames))
	}
	return frames
}

// A Rogue PRBS stream with one stray datagram in it, then the generator
// started again with one frame lost: lost 1 (that frame), one PRBS error
// (the stray), one restart, nothing out of order.
func TestServerPRBSStrayAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a --raw PRBS edge case; TestServerExitsNonZeroOnPRBSErrors covers PRBS checking")
	}
	srv, port := startServer(t, "--prbs", "--idle-exit", "300ms", "--json")
	conn := dialServer(t, port)
	frames := rogueVectors(t)
	stray := make([]byte, 1472)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range stray {
		stray[i] = byte(rng.Uint32())
	}
	for i, f := range frames {
		if i == 20 {
			send(t, conn, stray)
		}
		send(t, conn, f)
	}
	for i, f := range frames {
		if i != 40 {
			send(t, conn, f)
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
	if v.Packets != 128 || v.LostPackets != 1 || v.PRBSErrors != 1 || v.Restarts != 1 || v.OutOfOrder != 0 || !v.LossKnown || v.KernelDrops != 0 {
		t.Fatalf("server summary %+v", v)
	}
	if !strings.Contains(srv.stderr.String(), "restarts 1") {
		t.Fatalf("the summary line does not report the restart:\n%s", srv.stderr.String())
	}
}

// A run in which every datagram was dropped as oversize received nothing
// usable: it says so and fails.
func TestServerOversizeOnlyFails(t *testing.T) {
	if testing.Short() {
		t.Skip("short: oversize datagrams end to end; TestServerAndClientProcesses covers --raw")
	}
	srv, port := startServer(t, "--prbs", "--time", "1s", "--json")
	conn := dialServer(t, port)
	frame := make([]byte, 3000)
	for range 20 {
		send(t, conn, frame)
	}
	if code := srv.wait(t, 10*time.Second); code != exitError {
		t.Fatalf("server exit %d, want %d:\n%s", code, exitError, srv.stderr.String())
	}
	errLine := srv.stderr.String()
	if !strings.Contains(errLine, "no usable datagram received: 20 oversize") || !strings.Contains(errLine, "--jumbo") {
		t.Fatalf("stderr:\n%s", errLine)
	}
	if !strings.Contains(errLine, "lost n/a") || strings.Contains(errLine, "lost 0") {
		t.Fatalf("summary claims a loss figure:\n%s", errLine)
	}
	var sv bench.ServerReport
	if err := json.Unmarshal([]byte(srv.stdout.String()), &sv); err != nil {
		t.Fatal(err)
	}
	if v := sv.End.SumReceived; v.Oversize != 20 || v.LossKnown || !strings.Contains(sv.Error, "20 oversize") {
		t.Fatalf("report %+v", sv)
	}
}

// controlMsg builds a control datagram as udpperf puts it on the wire
// (cmd/udpperf/README.md): magic, type, reserved, session, A, B, body.
func controlMsg(typ byte, session, a, b uint64, body []byte) []byte {
	m := make([]byte, 40, 40+len(body))
	copy(m, "udpperf\x01")
	m[8] = typ
	le.LittleEndian.PutUint64(m[16:], session)
	le.LittleEndian.PutUint64(m[24:], a)
	le.LittleEndian.PutUint64(m[32:], b)
	return append(m, body...)
}

// await reads datagrams until one of control type typ arrives.
func await(t *testing.T, conn *net.UDPConn, typ byte) []byte {
	t.Helper()
	buf := make([]byte, 65536)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("waiting for control type %d: %v", typ, err)
		}
		if n >= 40 && string(buf[:8]) == "udpperf\x01" && buf[8] == typ {
			return append([]byte(nil), buf[40:n]...)
		}
	}
}

// A session end claiming 2^64-1 datagrams sent is not believed: the loss
// is the gaps in the sequence, and the report says why.
func TestServerRejectsForgedEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a --raw control edge case; TestServerAndClientProcesses covers --raw")
	}
	srv, port := startServer(t, "--one-off", "--json")
	conn := dialServer(t, port)
	const session = 0x1234
	send(t, conn, controlMsg(1, session, 0, 0, []byte(`{"payload":100}`)))
	await(t, conn, 2)
	d := make([]byte, 100)
	for seq := range uint64(100) {
		if seq == 50 {
			continue
		}
		le.LittleEndian.PutUint64(d, seq)
		send(t, conn, d)
	}
	send(t, conn, controlMsg(3, session, math.MaxUint64, math.MaxUint64, nil))
	var res account.SessionSummary
	if err := json.Unmarshal(await(t, conn, 4), &res); err != nil {
		t.Fatal(err)
	}
	if res.LostPackets != 1 || res.SentRejected == "" || res.LostPercent != 1 {
		t.Fatalf("result %+v", res)
	}
	if code := srv.wait(t, 10*time.Second); code != exitOK {
		t.Fatalf("server exit %d:\n%s", code, srv.stderr.String())
	}
	var sv bench.ServerReport
	if err := json.Unmarshal([]byte(srv.stdout.String()), &sv); err != nil {
		t.Fatal(err)
	}
	if sv.End.SumReceived.LostPackets != 1 || len(sv.End.Sessions) != 1 || sv.End.Sessions[0].SentRejected == "" {
		t.Fatalf("server report %+v", sv.End)
	}
	if !strings.Contains(srv.stderr.String(), fmt.Sprintf("sent %d (not believed", uint64(math.MaxUint64))) {
		t.Fatalf("stderr:\n%s", srv.stderr.String())
	}
}

// intervalLine matches a line of the interval table.
var intervalLine = regexp.MustCompile(`(?m)^\s*\d+\.\d+-\d+\.\d+\s+s\s`)

// A client whose server is killed a second into a 10-second test stops
// within moments, prints its own summary (and, with --json, its JSON
// with the reason), keeps log lines out of its table, and exits 1.
func TestClientStopsWhenServerDies(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a server killed mid-run; TestServerAndClientProcesses covers --raw")
	}
	for _, jsonOut := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", jsonOut), func(t *testing.T) {
			srv, port := startServer(t, "--json")
			args := []string{"client", "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--time", "10", "--rate", "20kpps", "--interval", "200ms"}
			if jsonOut {
				args = append(args, "--json")
			}
			cl := start(t, args...)
			time.Sleep(time.Second)
			if err := srv.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			srv.wait(t, 5*time.Second)
			killed := time.Now()
			code := cl.wait(t, 5*time.Second)
			took := time.Since(killed)
			out, errOut := cl.stdout.String(), cl.stderr.String()
			if code != exitError || took > 1500*time.Millisecond {
				t.Fatalf("client exit %d %v after the server died\nstdout:\n%s\nstderr:\n%s", code, took, out, errOut)
			}
			if strings.Contains(out, "WARN") || strings.Contains(out, "level=") {
				t.Fatalf("log lines on stdout:\n%s", out)
			}
			if !strings.Contains(errOut, "udpperf client: the peer stopped receiving") {
				t.Fatalf("no reason on stderr:\n%s", errOut)
			}
			table := out
			if jsonOut {
				table = errOut
				var rep bench.ClientReport
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatalf("JSON: %v\n%s", err, out)
				}
				if s := rep.End.SumSent; s.Packets == 0 || s.Seconds > 3 || !strings.Contains(rep.Error, "stopped receiving") {
					t.Fatalf("report %+v, error %q", s, rep.Error)
				}
			}
			if !strings.Contains(table, "\nsender ") || len(intervalLine.FindAllString(table, -1)) < 3 {
				t.Fatalf("no interval lines or sender summary:\n%s", table)
			}
			if strings.Contains(table, "WARN") || strings.Contains(table, "level=") {
				t.Fatalf("log lines in the table:\n%s", table)
			}
		})
	}
}

// fakeServer answers a client's hello and end as a udpperf server whose
// socket took in none of the data would: received 0.
func fakeServer(t *testing.T) int {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		conn.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n < 40 || string(buf[:8]) != "udpperf\x01" {
				continue // data: dropped, as if the kernel had
			}
			session, sent := le.LittleEndian.Uint64(buf[16:]), le.LittleEndian.Uint64(buf[24:])
			var reply []byte
			switch buf[8] {
			case 1:
				reply = controlMsg(2, session, 1472, 0, nil)
			case 3:
				body := fmt.Sprintf(`{"id":"%016x","payload":1472,"packets":0,"loss_known":true,"sent_packets":%d,"lost_packets":%d,"lost_percent":100}`, session, sent, sent)
				reply = controlMsg(4, session, 0, 0, []byte(body))
			}
			if reply != nil {
				conn.WriteToUDP(reply, from)
			}
		}
	}()
	return conn.LocalAddr().(*net.UDPAddr).Port
}

// A test whose datagrams all went missing received nothing usable: the
// client prints both summaries and fails.
func TestClientFailsWhenServerReceivedNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a --raw failure edge case; TestClientWithoutServer covers client failure")
	}
	port := fakeServer(t)
	out, errOut, code := run(t, 20*time.Second, "client", "--host", "127.0.0.1", "--port", fmt.Sprint(port), "--time", "0.3", "--rate", "1kpps", "--json")
	lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
	if code != exitError || !strings.HasPrefix(lines[len(lines)-1], "udpperf client: the server received none of the") {
		t.Fatalf("exit %d\nstderr:\n%s", code, errOut)
	}
	var rep bench.ClientReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.End.SumSent.Packets == 0 || rep.End.SumReceived == nil || rep.End.SumReceived.Packets != 0 || !strings.Contains(rep.Error, "none of the") {
		t.Fatalf("report %+v", rep)
	}
}
