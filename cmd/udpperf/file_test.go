package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/fileio"
)

// rogueFile finds one of the files written by Rogue's StreamWriter: in the
// shared reference folder beside the repository, else in the copy the
// fileio package tests use.
func rogueFile(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{
		filepath.Join("..", "..", "..", "shared", "rogue", "fileio", name),
		filepath.Join("..", "..", "engine", "fileio", "testdata", name),
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatalf("%s not found", name)
	return ""
}

// TestFileJSONMatchesRogue: udpperf file --json on Rogue's a.dat prints
// what Rogue's reader delivered, record for record.
func TestFileJSONMatchesRogue(t *testing.T) {
	raw, err := os.ReadFile(rogueFile(t, "expected-a.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Records []fileRecord `json:"records"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, 20*time.Second, "file", "--json", rogueFile(t, "a.dat"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(want.Records) || len(lines) != 50 {
		t.Fatalf("%d lines, want %d", len(lines), len(want.Records))
	}
	for i, line := range lines {
		var got fileRecord
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, line)
		}
		if got != want.Records[i] {
			t.Errorf("record %d: %+v, want %+v", i, got, want.Records[i])
		}
	}
}

// TestFileSummaryAndDamage: the summary counts records per channel; a cut
// file is summarised up to the damage, whose offset is reported, exit 1.
func TestFileSummaryAndDamage(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a damaged file; TestFileJSONMatchesRogue covers file")
	}
	out, _, code := run(t, 20*time.Second, "file", rogueFile(t, "a.dat"))
	if code != 0 || !strings.Contains(out, "50 records, 73600 payload bytes") || !strings.Contains(out, "channel   0: 50 records") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	a, err := os.ReadFile(rogueFile(t, "a.dat"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.dat")
	if err := os.WriteFile(cut, a[:4*1480+100], 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, 20*time.Second, "file", cut)
	if code != exitError || !strings.Contains(out, "4 records") || !strings.Contains(oneLineError(t, errOut), "record 4 at byte 5920") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	out, _, code = run(t, 20*time.Second, "file", "--raw", "1472", rogueFile(t, "c.dat"))
	if code != 0 || !strings.Contains(out, "50 records, 73600 payload bytes") {
		t.Fatalf("raw: exit %d:\n%s", code, out)
	}
	for _, args := range [][]string{{"file"}, {"file", "a", "b"}, {"file", "--raw", "-1", "x"}, {"server", "--record-max-size", "10"}} {
		if _, _, code := run(t, 10*time.Second, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// TestServerRecord sends datagrams to `udpperf server --record` over
// loopback and reads the recording back: one record per datagram, in
// order, with its bytes; with --record-max-size the set is split.
func TestServerRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("short: end-to-end run of udpperf processes; the full run covers it")
	}
	for _, limit := range []int{0, 3000} {
		t.Run(fmt.Sprint("max-size-", limit), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec.dat")
			srv, port := startServer(t, "--record", path, "--record-max-size", fmt.Sprint(limit), "--idle-exit", "300ms", "--json")
			sent := sendDatagrams(t, port, 10)
			if code := srv.wait(t, 20*time.Second); code != 0 {
				t.Fatalf("server exit %d:\n%s", code, srv.stderr.String())
			}
			if !strings.Contains(srv.stderr.String(), "recorded 10 datagrams (10080 bytes)") {
				t.Fatalf("server output:\n%s", srv.stderr.String())
			}
			first := path
			if limit > 0 {
				first = fileio.SplitName(path, 1)
				if _, err := os.Stat(fileio.SplitName(path, 5)); err != nil {
					t.Fatalf("2 records of 1008 bytes per 3000-byte file: %v", err)
				}
			}
			checkRecording(t, first, sent)
		})
	}
}

// sendDatagrams sends n distinct 1000-byte datagrams to port and returns
// them. Loopback does not lose them at this rate.
func sendDatagrams(t *testing.T, port, n int) [][]byte {
	t.Helper()
	conn, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var sent [][]byte
	for i := range n {
		d := bytes.Repeat([]byte{byte(i + 1)}, 1000)
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, d)
		time.Sleep(time.Millisecond)
	}
	return sent
}

// recording collects the frames a reader delivers.
type recording struct{ frames [][]byte }

func (r *recording) AcceptFrame(f engine.Frame) {
	b := make([]byte, f.Payload())
	f.ReadAt(b, 0)
	r.frames = append(r.frames, b)
}

func checkRecording(t *testing.T, name string, sent [][]byte) {
	t.Helper()
	r := fileio.NewStreamReader()
	rec := &recording{}
	engine.Connect(r, rec)
	if err := r.Open(name); err != nil {
		t.Fatal(err)
	}
	if err := r.CloseWait(); err != nil {
		t.Fatal(err)
	}
	if len(rec.frames) != len(sent) {
		t.Fatalf("%d frames recorded, %d sent", len(rec.frames), len(sent))
	}
	for i := range sent {
		if !bytes.Equal(rec.frames[i], sent[i]) {
			t.Fatalf("datagram %d recorded wrongly", i)
		}
	}
}

// TestServerRecordFailure: a recording that cannot be written ends the
// server with exit status 1, the lost datagrams counted in the message.
func TestServerRecordFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a --record failure edge case; TestServerRecord covers --record")
	}
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full on this system")
	}
	srv, port := startServer(t, "--record", "/dev/full", "--idle-exit", "300ms", "--json")
	sendDatagrams(t, port, 10)
	if code := srv.wait(t, 20*time.Second); code != exitError {
		t.Fatalf("server exit %d, want %d:\n%s", code, exitError, srv.stderr.String())
	}
	errOut := srv.stderr.String()
	if !strings.Contains(errOut, "10 datagrams not recorded") || !strings.Contains(errOut, "no space left on device") {
		t.Fatalf("stderr:\n%s", errOut)
	}
	var rep struct{ End json.RawMessage }
	if err := json.Unmarshal([]byte(srv.stdout.String()), &rep); err != nil || len(rep.End) == 0 {
		t.Fatalf("no report on stdout (%v):\n%s", err, srv.stdout.String())
	}
}

func TestFileHelp(t *testing.T) {
	out, _, code := run(t, 10*time.Second, "file", "--help")
	if code != 0 || !strings.Contains(out, "usage: udpperf file FILE") || !strings.Contains(out, "--raw") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	out, _, _ = run(t, 10*time.Second, "server", "--help")
	if !strings.Contains(out, "--record-max-size") {
		t.Fatalf("server --help lacks the record flags:\n%s", out)
	}
}
