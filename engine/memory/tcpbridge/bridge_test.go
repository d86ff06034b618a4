package tcpbridge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"udpstream.dev/engine/memory"
	"udpstream.dev/internal/testutils"
)

// exchange is one request of the vector file and Rogue's response (nil:
// no response).
type exchange struct {
	name      string
	req, resp [][]byte
}

func loadExchanges(t *testing.T) []exchange {
	t.Helper()
	f, err := os.Open("testdata/tcp-bridge-vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []exchange
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# ") && !strings.HasPrefix(line, "# Rogue") && len(out) >= 0 && !strings.Contains(line, "Each part") && !strings.Contains(line, "(PUSH") && !strings.Contains(line, "Integers"):
			out = append(out, exchange{name: line[2:]})
		case strings.HasPrefix(line, "req ") || strings.HasPrefix(line, "resp "):
			fs := strings.Fields(line)
			if len(fs) < 3 {
				continue // "resp (timeout)"
			}
			var b []byte
			if len(fs) == 4 {
				b, err = hex.DecodeString(fs[3])
				if err != nil {
					t.Fatal(err)
				}
			}
			n, _ := strconv.Atoi(strings.TrimPrefix(fs[2], "len="))
			if len(b) != n {
				t.Fatalf("%q: %d bytes, len=%d", line, len(b), n)
			}
			x := &out[len(out)-1]
			if fs[0] == "req" {
				x.req = append(x.req, b)
			} else {
				x.resp = append(x.resp, append([]byte{}, b...))
			}
		}
	}
	if len(out) != 5 {
		t.Fatalf("%d exchanges, want 5", len(out))
	}
	return out
}

// TestVectorsParse: Rogue's messages parse to their fields, and ours
// build the same parts.
func TestVectorsParse(t *testing.T) {
	for _, x := range loadExchanges(t) {
		r, err := ParseRequest(x.req)
		if x.resp == nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: %v, want ErrMalformed", x.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", x.name, err)
		}
		var h [20]byte
		parts := header4(&h, r.ID, r.Address, r.Size, r.Type)
		for i := range parts {
			if !bytes.Equal(parts[i], x.req[i]) {
				t.Errorf("%s: part %d %x, Rogue %x", x.name, i, parts[i], x.req[i])
			}
		}
		resp, err := ParseResponse(x.resp)
		if err != nil || resp.ID != r.ID || string(resp.Result) != "OK" || resp.Size != r.Size {
			t.Errorf("%s: response %+v, %v", x.name, resp, err)
		}
	}
}

// rawPeer is a bare ZMTP client: PUSH to the server's port, PULL from
// port+1.
type rawPeer struct{ push, pull *sock }

func dialRaw(t *testing.T, port int) *rawPeer {
	t.Helper()
	p := &rawPeer{}
	for i, push := range []bool{true, false} {
		nc, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+i)))
		if err != nil {
			t.Fatal(err)
		}
		s := newSock(nc, push)
		if err := s.handshake(); err != nil {
			t.Fatal(err)
		}
		if push {
			p.push = s
		} else {
			p.pull = s
		}
	}
	t.Cleanup(func() { p.push.nc.Close(); p.pull.nc.Close() })
	return p
}

// next reads one message, or nil after d.
func (p *rawPeer) next(d time.Duration) [][]byte {
	p.pull.nc.SetReadDeadline(time.Now().Add(d))
	parts, _, err := p.pull.readMessage()
	if err != nil {
		return nil
	}
	out := make([][]byte, len(parts))
	for i := range parts {
		out[i] = bytes.Clone(parts[i])
	}
	return out
}

// TestServerAnswersRogueBytes sends Rogue's requests to our server over
// an Emulate and expects Rogue's server's responses, byte for byte.
func TestServerAnswersRogueBytes(t *testing.T) {
	testutils.Leak(t)
	s, err := NewTcpServer("127.0.0.1", 0, memory.NewEmulate(4, 4096))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := dialRaw(t, s.Port())
	for _, x := range loadExchanges(t) {
		if err := p.push.send(x.req...); err != nil {
			t.Fatal(err)
		}
		wait := 2 * time.Second
		if x.resp == nil {
			wait = 200 * time.Millisecond
			if testing.Short() {
				wait = 50 * time.Millisecond // short: a shorter look for an answer that must not come
			}
		}
		got := p.next(wait)
		if x.resp == nil {
			if got != nil {
				t.Fatalf("%s: answered %x", x.name, got)
			}
			continue
		}
		if len(got) != len(x.resp) {
			t.Fatalf("%s: %d parts, Rogue %d", x.name, len(got), len(x.resp))
		}
		for i := range got {
			if !bytes.Equal(got[i], x.resp[i]) {
				t.Errorf("%s: part %d %x, Rogue %x", x.name, i, got[i], x.resp[i])
			}
		}
	}
	if st := s.Stats(); st.RxMalformed != 1 || st.RxOK != 4 {
		t.Fatalf("server stats %+v", st)
	}
}

func newPair(t *testing.T) (*Server, *Client, *memory.Master) {
	t.Helper()
	s, err := NewTcpServer("127.0.0.1", 0, memory.NewEmulate(4, 4096))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewTcpClient("127.0.0.1", s.Port())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	m := memory.NewMaster(c)
	m.SetTimeout(10 * time.Second)
	return s, c, m
}

// TestClientServer runs random transactions from several goroutines
// through a Go client and a Go server.
func TestClientServer(t *testing.T) {
	testutils.Leak(t)
	s, c, m := newPair(t)
	defer func() { m.Close(); c.Close(); s.Close() }()
	const workers = 8
	each := 500
	if testing.Short() {
		each = 50
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			base := uint64(w) << 16
			for range each {
				p := make([]byte, 4*(1+rng.IntN(1024)))
				for i := range p {
					p[i] = byte(rng.Uint32())
				}
				write := m.Write
				if rng.IntN(2) == 0 {
					write = m.Post
				}
				if err := write(base, p); err != nil {
					errs <- err
					return
				}
				if err := m.Verify(base, p); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := m.Read(1<<40, make([]byte, 5)); err != nil {
		t.Fatalf("an Emulate takes any size: %v", err)
	}
}

// TestRemoteError: the server's memory error comes back as the client's
// transaction error, with its text.
func TestRemoteError(t *testing.T) {
	testutils.Leak(t)
	e := memory.NewEmulate(4, 4096)
	e.SetSize(0x1000)
	s, err := NewTcpServer("127.0.0.1", 0, e)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, _ := NewTcpClient("127.0.0.1", s.Port())
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.WaitReady(ctx)
	m := memory.NewMaster(c)
	defer m.Close()
	err = m.Read(0x2000, make([]byte, 4))
	if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "beyond memory") {
		t.Fatalf("remote error: %v", err)
	}
}

// TestClientNoServer: without a server a transaction fails once the send
// wait has passed, and
// Close is prompt.
func TestClientNoServer(t *testing.T) {
	if testing.Short() {
		t.Skip("short: waits out the send timeout; the full run covers it")
	}
	testutils.Leak(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	c, err := NewTcpClient("127.0.0.1", port)
	if err != nil {
		t.Fatal(err)
	}
	m := memory.NewMaster(c)
	start0 := time.Now()
	if err := m.Read(0, make([]byte, 4)); !errors.Is(err, ErrNoPeer) {
		t.Fatalf("read without a server: %v", err)
	}
	if d := time.Since(start0); d < sendWait || d > sendWait+time.Second {
		t.Fatalf("failed after %v, want the send wait of %v", d, sendWait)
	}
	start := time.Now()
	m.Close()
	c.Close()
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("Close took %v", d)
	}
}

// TestCloseOutstanding: a server that takes requests and never answers;
// the client's Close fails what is outstanding within 100 ms.
func TestCloseOutstanding(t *testing.T) {
	testutils.Leak(t)
	s, c, m := newPair(t)
	defer s.Close()
	s.mem.SetSlave(silent{}) // requests now go unanswered
	s.mem.SetTimeout(time.Minute)
	m.SetTimeout(time.Minute)
	tx, _ := m.Acquire(memory.Read, 0, 4)
	m.Start(tx)
	testutils.Eventually(t, 5*time.Second, "request received", func() bool { return s.Stats().RxOK >= 2 })
	start := time.Now()
	c.Close()
	if err := tx.Wait(); !errors.Is(err, memory.ErrClosed) {
		t.Fatalf("outstanding after Close: %v", err)
	}
	tx.Release()
	m.Close()
	sstart := time.Now()
	s.Close()
	if d, ds := sstart.Sub(start), time.Since(sstart); d > 100*time.Millisecond || ds > 100*time.Millisecond {
		t.Fatalf("client Close %v, server Close (busy) %v", d, ds)
	}
}

type silent struct{}

func (silent) MinAccess() uint32                    { return 4 }
func (silent) MaxAccess() uint32                    { return 4096 }
func (silent) Address() uint64                      { return 0 }
func (silent) DoTransaction(tx *memory.Transaction) {}
