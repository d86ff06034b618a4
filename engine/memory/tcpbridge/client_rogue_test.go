package tcpbridge

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"udpstream.dev/engine/memory"
	"udpstream.dev/internal/testutils"
)

// rawServer is a bare ZMTP server: PULL on a port, PUSH on the next, one
// connection each, playing Rogue's TcpServer from its recorded bytes.
type rawServer struct {
	port       int
	pull, push *sock
}

func listenRaw(t *testing.T) (*rawServer, net.Listener, net.Listener) {
	t.Helper()
	pl, ph, port, err := listenPair("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pl.Close(); ph.Close() })
	return &rawServer{port: port}, pl, ph
}

func (r *rawServer) accept(t *testing.T, pl, ph net.Listener) {
	t.Helper()
	for _, x := range []struct {
		l    net.Listener
		push bool
		dst  **sock
	}{{pl, false, &r.pull}, {ph, true, &r.push}} {
		nc, err := x.l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		s := newSock(nc, x.push)
		if err := s.handshake(); err != nil {
			t.Fatal(err)
		}
		*x.dst = s
		t.Cleanup(func() { nc.Close() })
	}
}

// TestClientSpeaksRogue: our client's requests are Rogue's request parts
// (its own ids), and Rogue's server's responses complete them.
func TestClientSpeaksRogue(t *testing.T) {
	testutils.Leak(t)
	r, pl, ph := listenRaw(t)
	c, err := NewTcpClient("127.0.0.1", r.port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r.accept(t, pl, ph)
	m := memory.NewMaster(c)
	defer m.Close()
	m.SetTimeout(5 * time.Second)
	for _, x := range loadExchanges(t) {
		if x.resp == nil {
			continue
		}
		req, _ := ParseRequest(x.req)
		tx, _ := m.Acquire(req.Type, req.Address, int(req.Size))
		copy(tx.Data, req.Data)
		m.Start(tx)
		r.pull.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _, err := r.pull.readMessage()
		if err != nil {
			t.Fatalf("%s: %v", x.name, err)
		}
		if len(got) != len(x.req) || binary.LittleEndian.Uint32(got[0]) != tx.ID() {
			t.Fatalf("%s: %d parts, id %x; want %d parts, id %d", x.name, len(got), got[0], len(x.req), tx.ID())
		}
		for i := 1; i < len(got); i++ {
			if !bytes.Equal(got[i], x.req[i]) {
				t.Errorf("%s: part %d %x, Rogue's client %x", x.name, i, got[i], x.req[i])
			}
		}
		resp := append([][]byte{binary.LittleEndian.AppendUint32(nil, tx.ID())}, x.resp[1:]...)
		if err := r.push.send(resp...); err != nil {
			t.Fatal(err)
		}
		if err := tx.Wait(); err != nil {
			t.Fatalf("%s: %v", x.name, err)
		}
		if !req.Type.Writes() && !bytes.Equal(tx.Data, x.resp[4]) {
			t.Errorf("%s: read %x, Rogue's server sent %x", x.name, tx.Data, x.resp[4])
		}
		tx.Release()
	}
	if s := c.Stats(); s.RxOK != 4 || s.RxMessages != 4 {
		t.Fatalf("client stats %+v", s)
	}
}
