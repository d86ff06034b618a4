package bench

import (
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/benchtest"
	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/report"
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
