package zmq

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
)

// pythonZMQ returns a Python interpreter that has pyzmq (Debian's
// python3-zmq, which scripts/setup.sh installs), or skips the test.
func pythonZMQ(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("short: starts a Python libzmq peer")
	}
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import zmq").Run() == nil {
			return py
		}
	}
	t.Skip("no python3 with the zmq module (Debian package python3-zmq; scripts/setup.sh installs it)")
	return ""
}

// peerLine is one line the Python peer prints.
type peerLine struct {
	Ready    bool     `json:"ready"`
	SentTail bool     `json:"sent_tail"`
	Sizes    []int    `json:"sizes"`
	Head     []string `json:"head"`
	CRC      uint32   `json:"crc"`
}

// pyPeer runs testdata/rogue_peer.py.
type pyPeer struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan peerLine
}

func startPeer(t *testing.T, mode string, port, count int) *pyPeer {
	t.Helper()
	py := pythonZMQ(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, py, "testdata/rogue_peer.py", mode, "127.0.0.1", strconv.Itoa(port), strconv.Itoa(count))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &pyPeer{cmd: cmd, stdin: stdin, lines: make(chan peerLine, 1024)}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var l peerLine
			if json.Unmarshal(sc.Bytes(), &l) == nil {
				p.lines <- l
			}
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
		cancel()
	})
	return p
}

// next returns the peer's next line.
func (p *pyPeer) next(t *testing.T) peerLine {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		if !ok {
			t.Fatal("the Python peer exited early")
		}
		return l
	case <-time.After(30 * time.Second):
		t.Fatal("no word from the Python peer in 30 s")
	}
	return peerLine{}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Logf("python: %s", p)
	return len(p), nil
}

// sent is what the Go side sent, to compare with what comes back.
type sent struct {
	flags       uint16
	channel, er uint8
	data        []byte
}

// interopFrames is the test traffic: PRBS frames of 1472 bytes with varied
// metadata, then one zero-length frame.
func interopFrames(t *testing.T, n int) []sent {
	gen, err := prbs.NewGenerator(32)
	if err != nil {
		t.Fatal(err)
	}
	pool := engine.NewPool()
	var out []sent
	for i := range n {
		f, _ := pool.AcceptReq(1472, true)
		f.SetPayload(1472)
		if err := gen.FillFrame(f); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, 1472)
		f.ReadAt(data, 0)
		f.Release()
		out = append(out, sent{uint16(0x8103 + 0x101*i), uint8(i % 5), uint8(i * 0x49), data})
	}
	return append(out, sent{0xbeef, 255, 0, []byte{}})
}

// runInterop sends the traffic from ours to the Python peer, which echoes
// it and then sends malformed messages and a tail; it checks both views.
func runInterop(t *testing.T, ours *Bridge, peer *pyPeer, frames []sent) {
	rec := newRecorder()
	ours.AddSlave(rec)
	for i, s := range frames {
		f := makeFrame(t, s.data, s.flags, s.channel, s.er)
		if err := ours.Send(f); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		f.Release()
	}
	for i, s := range frames {
		l := peer.next(t)
		want := fmt.Sprintf("[2 1 1 %d] [%04x %02x %02x] %d", len(s.data),
			[]byte{byte(s.flags), byte(s.flags >> 8)}, s.channel, s.er, crc32.ChecksumIEEE(s.data))
		have := fmt.Sprintf("%v %v %d", l.Sizes, l.Head, l.CRC)
		if want != have {
			t.Fatalf("message %d at the Python peer: %s, want %s", i, have, want)
		}
	}
	if !peer.next(t).SentTail {
		t.Fatal("the Python peer did not finish")
	}
	rec.waitCount(t, len(frames)+1, 20*time.Second)
	checkEchoes(t, rec.all(), frames)
	// Disconnects: libzmq drops a connection whose PINGs go unanswered.
	if s := ours.Stats(); s.RxMalformed != 6 || s.RxFrames != uint64(len(frames)+1) || s.TxFrames != uint64(len(frames)) || s.Disconnects != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func checkEchoes(t *testing.T, got []got, frames []sent) {
	t.Helper()
	for i, s := range frames {
		g := got[i]
		if g.flags != s.flags || g.channel != s.channel || g.error != s.er || hex.EncodeToString(g.data) != hex.EncodeToString(s.data) {
			t.Fatalf("echo %d: flags %#x channel %d error %d, %d bytes; want %#x %d %d, %d bytes",
				i, g.flags, g.channel, g.error, len(g.data), s.flags, s.channel, s.er, len(s.data))
		}
		if len(s.data) > 0 {
			if _, err := prbs.Verify(g.data, 32); err != nil {
				t.Fatalf("echo %d: %v", i, err)
			}
		}
	}
	tail := got[len(frames)]
	if string(tail.data) != "end" || tail.flags != 0x0201 || tail.channel != 3 || tail.error != 4 {
		t.Fatalf("tail %+v", tail)
	}
}

// TestInteropPythonClient: libzmq as Rogue's TcpClient against our server.
func TestInteropPythonClient(t *testing.T) {
	leakCheck(t)
	pythonZMQ(t)
	srv, err := NewTcpServer("127.0.0.1", 0, WithSendTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv)
	frames := interopFrames(t, 120)
	peer := startPeer(t, "client", srv.Port(), len(frames))
	peer.next(t)
	runInterop(t, srv, peer, frames)
}

// TestInteropPythonServer: libzmq as Rogue's TcpServer against our client.
func TestInteropPythonServer(t *testing.T) {
	leakCheck(t)
	pythonZMQ(t)
	port := freePortPair(t)
	frames := interopFrames(t, 120)
	peer := startPeer(t, "server", port, len(frames))
	peer.next(t)
	cli, err := NewTcpClient("127.0.0.1", port, WithSendTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, cli)
	runInterop(t, cli, peer, frames)
}

// freePortPair finds two adjacent free ports by binding a server there
// and closing it.
func freePortPair(t *testing.T) int {
	t.Helper()
	b, err := NewTcpServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	port := b.Port()
	b.Close()
	return port
}
