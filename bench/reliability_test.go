package bench

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine/udp"
)

// rogueFrames reads the frames Rogue's own PRBS generator wrote (width 32,
// 1472 bytes, sequence 0..63); the repository keeps a copy with the PRBS
// package's tests.
func rogueFrames(t testing.TB) [][]byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "engine", "prbs", "testdata", "w32_1472.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for len(data) >= 4 {
		n := int(binary.LittleEndian.Uint32(data))
		if len(data) < 4+n {
			t.Fatalf("truncated vector file")
		}
		frames = append(frames, data[4:4+n])
		data = data[4+n:]
	}
	if len(frames) != 64 {
		t.Fatalf("%d frames in the vector file", len(frames))
	}
	return frames
}

// A stray datagram in a Rogue PRBS stream is one PRBS error: its word 0
// is not a sequence number, so it must not move the loss count.
func TestReceiverPRBSStrayDatagramIsNoSequence(t *testing.T) {
	frames := rogueFrames(t)
	rng := rand.New(rand.NewPCG(7, 9))
	for _, stray := range []int{1472, 8000} {
		peer := benchtest.NewPeer(t)
		r, _ := account.NewReceiver(peer, peer, -1, true)
		junk := make([]byte, stray)
		for i := range junk {
			junk[i] = byte(rng.Uint32())
		}
		binary.LittleEndian.PutUint32(junk, 0x5a5a5a5a+uint32(stray)) // far ahead of the stream
		for i, f := range frames {
			if i == 20 {
				benchtest.Deliver(t, peer.Pool, r, junk)
			}
			benchtest.Deliver(t, peer.Pool, r, f)
		}
		end := serverEnd(r, peer.Stats(), cpu.Usage{})
		v := end.SumReceived
		if v.Packets != 65 || v.LostPackets != 0 || v.OutOfOrder != 0 || v.PRBSErrors != 1 || !v.LossKnown {
			t.Fatalf("stray of %d bytes: %+v", stray, v)
		}
	}
}

// The fragments of an oversized frame carry LFSR words where the header
// should be: none of them may count as a sequence number.
func TestReceiverPRBSFragmentsAreNoSequence(t *testing.T) {
	big := benchtest.PRBSDatagram(t, 64, 70*1472)
	frames := rogueFrames(t)
	peer := benchtest.NewPeer(t)
	r, _ := account.NewReceiver(peer, peer, -1, true)
	for _, f := range frames {
		benchtest.Deliver(t, peer.Pool, r, f)
	}
	for i := range 70 {
		benchtest.Deliver(t, peer.Pool, r, big[i*1472:(i+1)*1472])
	}
	for s := range uint32(10) {
		benchtest.Deliver(t, peer.Pool, r, benchtest.PRBSDatagram(t, 65+s, 1472)) // 64 went out in fragments
	}
	v := serverEnd(r, peer.Stats(), cpu.Usage{}).SumReceived
	if v.LostPackets != 1 || v.OutOfOrder != 0 || v.PRBSErrors != 70 {
		t.Fatalf("%+v", v)
	}
}

// A payload bit flip is corruption, not loss: the frame keeps its place
// in the sequence. A flip in word 0 makes it no sequence number at all.
func TestReceiverPRBSCorruptFrames(t *testing.T) {
	peer := benchtest.NewPeer(t)
	r, _ := account.NewReceiver(peer, peer, -1, true)
	for s := range uint32(30) {
		d := benchtest.PRBSDatagram(t, s, 256)
		switch s {
		case 10:
			d[100] ^= 1
		case 20:
			d[3] ^= 0x40 // word 0: sequence 20 + 2^30
		}
		benchtest.Deliver(t, peer.Pool, r, d)
	}
	v := serverEnd(r, peer.Stats(), cpu.Usage{}).SumReceived
	// Frame 20 is not trusted as a sequence number: its place is a gap.
	if v.PRBSErrors != 2 || v.LostPackets != 1 || v.OutOfOrder != 0 {
		t.Fatalf("%+v", v)
	}
}

// A Rogue generator started again at 0 is a restart, reported as such;
// a gap after it is still found.
func TestReceiverPRBSRestart(t *testing.T) {
	peer := benchtest.NewPeer(t)
	r, _ := account.NewReceiver(peer, peer, -1, true)
	for s := range uint32(1000) {
		benchtest.Deliver(t, peer.Pool, r, benchtest.PRBSDatagram(t, s, 64))
	}
	for s := range uint32(1000) {
		if s != 700 {
			benchtest.Deliver(t, peer.Pool, r, benchtest.PRBSDatagram(t, s, 64))
		}
	}
	v := serverEnd(r, peer.Stats(), cpu.Usage{}).SumReceived
	if v.Restarts != 1 || v.OutOfOrder != 0 || v.LostPackets != 1 || v.PRBSErrors != 0 {
		t.Fatalf("%+v", v)
	}
	if line := report.FormatReceived(v); !strings.Contains(line, "restarts 1") {
		t.Fatalf("summary line does not report the restart: %s", line)
	}
	var doc map[string]any
	b, _ := json.Marshal(v)
	if json.Unmarshal(b, &doc) != nil || doc["restarts"] != 1.0 {
		t.Fatalf("JSON lacks restarts: %s", b)
	}
}

// sessionEnd runs one session of n datagrams (those in drop missing) and
// ends it with a claim of sent datagrams.
func sessionEnd(t *testing.T, n uint64, drop map[uint64]bool, sent uint64) account.SessionSummary {
	t.Helper()
	peer := benchtest.NewPeer(t)
	r, _ := account.NewReceiver(peer, peer, -1, false)
	benchtest.Deliver(t, peer.Pool, r, benchtest.HelloMsg(t, 5, account.SessionParams{Payload: 100}))
	for s := range n {
		if !drop[s] {
			benchtest.Deliver(t, peer.Pool, r, benchtest.SeqDatagram(s, 100))
		}
		if s == 0 || s == n-1 {
			time.Sleep(20 * time.Millisecond) // a measurable span
		}
	}
	benchtest.Deliver(t, peer.Pool, r, wire.Encode(nil, wire.Message{Type: wire.TypeEnd, Session: 5, A: sent, B: sent * 100}))
	s := r.Sessions()
	if len(s) != 1 {
		t.Fatalf("sessions %+v", s)
	}
	return s[0]
}

// A sender's count is believed only when it is consistent with the
// sequence numbers seen and the time the session lasted.
func TestReceiverChecksTheSentClaim(t *testing.T) {
	drop := map[uint64]bool{10: true, 11: true}
	cases := []struct {
		name   string
		claim  uint64
		lost   uint64
		reject string
	}{
		{"exact", 1000, 2, ""},
		{"tail lost", 1300, 302, ""},
		{"forged", math.MaxUint64, 2, "more than"},
		{"below the highest sequence", 900, 2, "fewer than"},
	}
	for _, c := range cases {
		s := sessionEnd(t, 1000, drop, c.claim)
		if s.SentPackets != c.claim || s.LostPackets != c.lost || !strings.Contains(s.SentRejected, c.reject) || (c.reject == "") != (s.SentRejected == "") {
			t.Fatalf("%s: sent %d lost %d rejected %q", c.name, s.SentPackets, s.LostPackets, s.SentRejected)
		}
		if s.LostPercent > 100 {
			t.Fatalf("%s: lost %v%%", c.name, s.LostPercent)
		}
	}
}

func TestImplausibleClaim(t *testing.T) {
	if why := account.ImplausibleClaim(1e6, 0, 0, 1); why != "" {
		t.Fatalf("a million in a second with nothing received: %s", why)
	}
	if why := account.ImplausibleClaim(1e12, 0, 0, 1); why == "" {
		t.Fatal("a trillion in a second believed")
	}
	if why := account.ImplausibleClaim(5e6, 1e6, 1, 1); why != "" {
		t.Fatalf("a 1 Mpps stream losing its last second: %s", why)
	}
	if why := account.ImplausibleClaim(20e6, 1e6, 1, 1); why == "" {
		t.Fatal("20 M after a 1 Mpps second believed")
	}
}

// A client whose server goes away stops within moments, with its own
// figures and a reason, instead of sending until its time is up.
func TestTransmitStopsWhenServerGoes(t *testing.T) {
	port, done, stop := startServeCancel(t, ServeConfig{Transport: udp.TransportMmsg})
	go func() {
		time.Sleep(300 * time.Millisecond)
		stop()
	}()
	var stopped time.Time
	done2 := make(chan struct{})
	go func() {
		<-done
		stopped = time.Now()
		close(done2)
	}()
	rep, err := Transmit(testContext(t), ClientConfig{Host: "127.0.0.1", Port: port, Duration: 10 * time.Second,
		Rate: report.Rate{DatagramsPerSecond: 20000}, CPU: -1})
	returned := time.Now()
	<-done2
	if !errors.Is(err, ErrPeerGone) || !strings.Contains(err.Error(), "port-unreachable") {
		t.Fatalf("err %v", err)
	}
	if took := returned.Sub(stopped); took > time.Second {
		t.Fatalf("the client went on for %v after the server stopped", took)
	}
	if s := rep.End.SumSent; !s.Sender || s.Packets == 0 || s.Seconds <= 0 || s.Seconds > 5 {
		t.Fatalf("sender summary %+v", s)
	}
}

// The sender's last datagrams met the port closed: the end of the test
// is not awaited for endWait.
func TestFinishStopsOnRefusals(t *testing.T) {
	var refused atomic.Uint64
	go func() {
		time.Sleep(50 * time.Millisecond)
		refused.Store(2)
	}()
	start := time.Now()
	_, err := finish(benchtest.NewTx(t), newReplySlave(), 1, 10, 1000, refused.Load)
	if !errors.Is(err, ErrPeerGone) || time.Since(start) > endWait/2 {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

// --raw has no session, but a closed port still ends the test at once.
func TestTransmitRawStopsWhenNothingListens(t *testing.T) {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	start := time.Now()
	rep, err := Transmit(testContext(t), ClientConfig{Host: "127.0.0.1", Port: port, Raw: true, Duration: 10 * time.Second,
		Rate: report.Rate{DatagramsPerSecond: 1000}, CPU: -1})
	if !errors.Is(err, ErrPeerGone) || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
	if rep.End.SumSent.Packets == 0 {
		t.Fatalf("sender summary %+v", rep.End.SumSent)
	}
}
