package iperf3

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// transcriptMessage is one JSON message of a real iperf3 conversation.
type transcriptMessage struct {
	case_, kind, body string
}

func loadMessages(t testing.TB) []transcriptMessage {
	t.Helper()
	f, err := os.Open("testdata/messages.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []transcriptMessage
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 3)
		out = append(out, transcriptMessage{parts[0], parts[1], parts[2]})
	}
	return out
}

// TestStateBytes checks the state values against the bytes on the wire
// in the transcripts (T01: 09 0a 01 02 04 0d 0e 10; T16: ff).
func TestStateBytes(t *testing.T) {
	wire := map[State]byte{ParamExchange: 0x09, CreateStreams: 0x0a, TestStart: 0x01, TestRunning: 0x02,
		TestEnd: 0x04, ExchangeResults: 0x0d, DisplayResults: 0x0e, IperfDone: 0x10, AccessDenied: 0xff,
		ServerError: 0xfe, ClientTerminate: 0x0c, ServerTerminate: 0x0b}
	for st, b := range wire {
		var buf bytes.Buffer
		if err := WriteState(&buf, st); err != nil || !bytes.Equal(buf.Bytes(), []byte{b}) {
			t.Errorf("%v: wrote % x, want %02x", st, buf.Bytes(), b)
		}
		got, err := ReadState(bytes.NewReader([]byte{b}))
		if err != nil || got != st {
			t.Errorf("%02x: read %v, want %v", b, got, st)
		}
	}
}

func TestCookie(t *testing.T) {
	if !ValidCookie(append([]byte("kxv7y3332nhvzcbhdmw4fvvhruhu6wypd3oc"), 0)) { // T01
		t.Error("T01's cookie refused")
	}
	for _, bad := range []string{"kxv7y3332nhvzcbhdmw4fvvhruhu6wypd3oc", "kxv7y3332nhvzcbhdmw4fvvhruhu6wypd3o1\x00"} {
		if ValidCookie([]byte(bad)) {
			t.Errorf("%q taken as a cookie", bad)
		}
	}
	for i := 0; i < 100; i++ {
		c := NewCookie()
		if !ValidCookie(c[:]) {
			t.Fatalf("NewCookie made %q", c)
		}
	}
}

// TestParamsFromTranscripts decodes every params message iperf3 3.12
// sent, checks the figures of the cases named, and re-encodes the plain
// ones byte for byte.
func TestParamsFromTranscripts(t *testing.T) {
	n := 0
	for _, m := range loadMessages(t) {
		if m.kind != "params" {
			continue
		}
		n++
		p, err := ParseParams([]byte(m.body))
		if err != nil {
			t.Errorf("T%s: %v", m.case_, err)
			continue
		}
		if p.TCP != (m.case_ == "15") || p.UDP == p.TCP {
			t.Errorf("T%s: udp %v tcp %v", m.case_, p.UDP, p.TCP)
		}
		checkParams(t, m.case_, p)
		if m.case_ != "15" { // every UDP case re-encodes to the same bytes
			var buf bytes.Buffer
			if err := WriteJSON(&buf, p); err != nil {
				t.Fatal(err)
			}
			if got := buf.String()[4:]; got != m.body {
				t.Errorf("T%s re-encoded:\n got %s\nwant %s", m.case_, got, m.body)
			}
		}
	}
	if n < 24 {
		t.Fatalf("only %d params messages", n)
	}
}

func checkParams(t *testing.T, c string, p *Params) {
	t.Helper()
	type want struct {
		udp, rev, bidir   bool
		parallel, len, bw Num
		c64, gso          Num
	}
	w, ok := map[string]want{
		"01": {udp: true, parallel: 1, len: 32768, bw: 10000000},
		"02": {udp: true, parallel: 4, len: 1472},
		"03": {udp: true, rev: true, parallel: 1, len: 32768, bw: 10000000},
		"04": {udp: true, bidir: true, parallel: 1, len: 32768, bw: 10000000},
		"05": {udp: true, parallel: 1, len: 32768, bw: 10000000, c64: 1},
		"06": {udp: true, parallel: 1, len: 32768, bw: 10000000, gso: 1},
		"10": {udp: true, parallel: 1, len: 16, bw: 1000000},
	}[c]
	if !ok {
		return
	}
	got := want{p.UDP, p.Reverse, p.Bidirectional, p.Parallel, p.Len, p.Bandwidth, p.Counters64, p.GetServerOutput}
	if got != w {
		t.Errorf("T%s: params %+v, want %+v", c, got, w)
	}
}

// TestResultsFromTranscripts decodes every results message, including -1
// written as 18446744073709551615.
func TestResultsFromTranscripts(t *testing.T) {
	for _, m := range loadMessages(t) {
		if m.kind == "params" {
			continue
		}
		r, err := ParseResults([]byte(m.body))
		if err != nil {
			t.Errorf("T%s %s: %v", m.case_, m.kind, err)
			continue
		}
		if len(r.Streams) == 0 || r.Streams[0].ID != 1 {
			t.Errorf("T%s %s: streams %+v", m.case_, m.kind, r.Streams)
		}
		for _, s := range r.Streams {
			if m.case_ != "15" && s.Retransmits != -1 {
				t.Errorf("T%s %s: retransmits %d, want -1", m.case_, m.kind, s.Retransmits)
			}
		}
	}
	// T01's server results, figure by figure.
	r, err := ParseResults([]byte(`{"cpu_util_total":0.25207043579600086,"cpu_util_user":0.2519704871695948,"cpu_util_system":0,"sender_has_retransmits":18446744073709551615,"streams":[{"id":1,"bytes":1277952,"retransmits":18446744073709551615,"jitter":0.00044393620998797837,"errors":0,"packets":39,"start_time":0,"end_time":1.000431}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := r.Streams[0]
	if r.SenderHasRetransmits != -1 || s.Bytes != 1277952 || s.Packets != 39 || s.Jitter != 0.00044393620998797837 || s.EndTime != 1.000431 {
		t.Errorf("T01 server results: %+v %+v", r, s)
	}
}

func TestResultsMissingKeys(t *testing.T) {
	for _, body := range []string{
		`{"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,"streams":[]}`,
		`{"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0}`,
		`{"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,"streams":[{"id":1,"bytes":1,"retransmits":-1,"jitter":0,"errors":0}]}`,
		`{"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,"streams":[{"id":1.5,"bytes":1,"retransmits":-1,"jitter":0,"errors":0,"packets":1}]}`,
		`[1,2]`, `{"cpu_util_total":`,
	} {
		if _, err := ParseResults([]byte(body)); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: err %v, want ErrProtocol", body, err)
		}
	}
	// Keys are matched without regard to case, as iperf3's reader does.
	if _, err := ParseResults([]byte(`{"CPU_UTIL_TOTAL":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,"Streams":[]}`)); err != nil {
		t.Errorf("upper-case keys: %v", err)
	}
}

func TestNum(t *testing.T) {
	for in, want := range map[string]Num{"18446744073709551615": -1, "-1": -1, "7": 7, "3e2": 300, "9223372036854775807": 1<<63 - 1,
		"18446744073709551614": -2, "1.8446744073709550e19": -2048} {
		var n Num
		if err := n.UnmarshalJSON([]byte(in)); err != nil {
			t.Errorf("%s: %v", in, err)
		} else if n != want {
			t.Errorf("%s: %d, want %d", in, n, want)
		}
	}
	for _, bad := range []string{"1.5", `"1"`, "true", "1e400", "", "1.8446744073709552e19"} {
		var n Num
		if err := n.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%q read as %d", bad, n)
		}
	}
}

func TestParamsLimits(t *testing.T) {
	for _, body := range []string{`{"udp":true,"len":15}`, `{"udp":true,"len":65508}`, `{"udp":true,"parallel":129}`,
		`{"udp":true,"time":86401}`, `{"udp":true,"bandwidth":-5}`, `{"udp":true,"omit":61}`, `{"udp":`} {
		if _, err := ParseParams([]byte(body)); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: err %v, want ErrProtocol", body, err)
		}
	}
	p, err := ParseParams([]byte(`{"udp":true,"parallel":128,"len":65507,"gso":1,"unknown":{"a":[1]}}`))
	if err != nil || p.Parallel != 128 {
		t.Errorf("limits and unknown keys: %v %+v", err, p)
	}
}

func TestJSONFraming(t *testing.T) {
	// T01's params: length prefix 00 00 00 8f = 143.
	var buf bytes.Buffer
	p := &Params{UDP: true, Time: 1, Parallel: 1, Len: 32768, Bandwidth: 10000000, PacingTimer: 1000, ClientVersion: "3.12"}
	if err := WriteJSON(&buf, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte{0, 0, 0, 0x8f}) || buf.Len() != 147 {
		t.Errorf("framing % x, %d bytes", buf.Bytes()[:4], buf.Len())
	}
	body, err := ReadJSONBytes(bytes.NewReader(buf.Bytes()), MaxParamsLen)
	if err != nil || len(body) != 143 {
		t.Errorf("read back %d bytes: %v", len(body), err)
	}
	huge := []byte{0xff, 0xff, 0xff, 0xff}
	if _, err := ReadJSONBytes(bytes.NewReader(huge), MaxParamsLen); !errors.Is(err, ErrTooLarge) {
		t.Errorf("4 GiB prefix: %v", err)
	}
	if _, err := ReadJSONBytes(bytes.NewReader([]byte{0, 0, 0x20, 0x01}), MaxParamsLen); !errors.Is(err, ErrTooLarge) {
		t.Errorf("8193-byte prefix: %v", err)
	}
	if _, err := ReadJSONBytes(bytes.NewReader([]byte{0, 0, 0, 9, '{'}), MaxParamsLen); err == nil {
		t.Error("truncated body read")
	}
}

func TestServerErrorBytes(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteServerError(&buf, IEProtocol, 0); err != nil {
		t.Fatal(err)
	}
	want := []byte{0xfe, 0, 0, 0, 131, 0, 0, 0, 0}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("SERVER_ERROR % x, want % x", buf.Bytes(), want)
	}
	code, err := ReadServerError(bytes.NewReader(buf.Bytes()[1:]))
	if err != nil || code.IErrno != IEProtocol || !errors.Is(code, ErrServer) {
		t.Errorf("read back %+v %v", code, err)
	}
}

// TestHeadersFromTranscripts parses every data header shown in the
// transcripts and writes it back byte for byte.
func TestHeadersFromTranscripts(t *testing.T) {
	f, err := os.ReadFile("testdata/headers.txt")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(f)), "\n") {
		fs := strings.Fields(line)
		raw, _ := hex.DecodeString(fs[1])
		sec, _ := strconv.ParseUint(fs[2], 10, 32)
		usec, _ := strconv.ParseUint(fs[3], 10, 32)
		wide := fs[4] == "u64"
		count, _ := strconv.ParseUint(fs[5], 10, 64)
		gs, gu, gc, ok := ParseHeader(raw, wide)
		if !ok || uint64(gs) != sec || uint64(gu) != usec || gc != count {
			t.Errorf("T%s %s: got %d %d %d %v", fs[0], fs[1], gs, gu, gc, ok)
		}
		b := make([]byte, HeaderLen(wide))
		PutHeader(b, uint32(sec), uint32(usec), count, wide)
		if !bytes.Equal(b, raw[:HeaderLen(wide)]) {
			t.Errorf("T%s: wrote % x, want % x", fs[0], b, raw[:HeaderLen(wide)])
		}
		n++
	}
	if n < 100 {
		t.Fatalf("only %d headers", n)
	}
	if _, _, _, ok := ParseHeader(make([]byte, 15), true); ok {
		t.Error("15 bytes parsed as a 64-bit header")
	}
}

func TestConnectBytesAndIDs(t *testing.T) {
	if string(ConnectMsg[:]) != "9876" || string(ConnectReply[:]) != "6789" { // T01
		t.Error("connect bytes")
	}
	if !IsConnectReply([]byte{0xb1, 0x68, 0xde, 0x3a}) || IsConnectReply([]byte("9876")) || IsConnectReply([]byte("67890")) {
		t.Error("IsConnectReply")
	}
	for i, want := range []int{1, 3, 4, 5, 6} { // T02: ids 1,3,4,5
		if got := StreamID(i); got != want {
			t.Errorf("StreamID(%d) = %d, want %d", i, got, want)
		}
	}
}
