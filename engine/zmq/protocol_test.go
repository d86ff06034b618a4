package zmq

import (
	"bytes"
	"net"
	"strconv"
	"testing"
	"time"
)

func TestPingGetsPong(t *testing.T) {
	leakCheck(t)
	srv, err := NewTcpServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv)
	for _, port := range []int{srv.Port(), srv.Port() + 1} {
		local, remote := "PUSH", "PULL"
		if port != srv.Port() {
			local, remote = remote, local
		}
		p := dialRaw(t, port, local, remote)
		ping := append([]byte{4}, "PING"...)
		ping = append(ping, 0, 10, 'c', 't', 'x')
		var hdr [9]byte
		p.nc.Write(append(hdr[:putHeader(hdr[:], flagCommand, len(ping))], ping...))
		p.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		flags, size, err := p.rd.header()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := p.rd.next(int(size))
		if flags != flagCommand || !bytes.Equal(body, append([]byte{4}, "PONGctx"...)) {
			t.Fatalf("port %d: answer %#x %q", port, flags, body)
		}
	}
}

func TestProtocolErrorDropsConnection(t *testing.T) {
	leakCheck(t)
	srv, err := NewTcpServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv)
	p := dialRaw(t, srv.Port(), "PUSH", "PULL")
	p.nc.Write([]byte{0x80, 1, 0}) // a reserved flag bit
	waitUntil(t, 5*time.Second, "the protocol error", func() bool {
		s := srv.Stats()
		return s.ProtocolErrors == 1 && s.Disconnects == 1
	})
	// The server goes on serving new peers.
	rec := newRecorder()
	srv.AddSlave(rec)
	q := dialRaw(t, srv.Port(), "PUSH", "PULL")
	q.send(t, []byte{0, 0}, []byte{0}, []byte{0}, []byte("ok"))
	rec.waitCount(t, 1, 5*time.Second)
}

func TestHandshakeRefusals(t *testing.T) {
	leakCheck(t)
	srv, err := NewTcpServer("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, srv)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.Port()))
	wrongType := greeting[:]
	ready := readyCommand("PULL") // a PULL peer on the PULL port
	var hdr [9]byte
	wrongType = append(append(append([]byte(nil), wrongType...), hdr[:putHeader(hdr[:], flagCommand, len(ready))]...), ready...)
	curve := append([]byte(nil), greeting[:]...)
	copy(curve[12:32], "CURVE")
	for i, hello := range [][]byte{
		[]byte("GET / HTTP/1.0\r\n\r\n" + string(make([]byte, 64))),
		wrongType,
		curve,
	} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.Write(hello)
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 256)
		for err == nil {
			_, err = nc.Read(buf) // until the server hangs up
		}
		nc.Close()
		if got := srv.Stats().HandshakeErrors; got != uint64(i+1) {
			t.Fatalf("case %d: %d handshake errors", i, got)
		}
	}
	if s := srv.Stats(); s.Connects != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestGreetingAndHeaders(t *testing.T) {
	if len(greeting) != 64 || greeting[0] != 0xff || greeting[9] != 0x7f || greeting[10] != 3 || string(greeting[12:16]) != "NULL" {
		t.Fatalf("greeting %x", greeting)
	}
	if err := checkGreeting(greeting[:]); err != nil {
		t.Fatal(err)
	}
	old := greeting
	old[10] = 2
	if checkGreeting(old[:]) != errOldZMTP {
		t.Fatal("accepted ZMTP 2")
	}
	var h [9]byte
	if n := putHeader(h[:], flagMore, 255); n != 2 || h[0] != flagMore || h[1] != 255 {
		t.Fatalf("short header %x", h[:n])
	}
	if n := putHeader(h[:], 0, 8972); n != 9 || !bytes.Equal(h[:n], []byte{flagLong, 0, 0, 0, 0, 0, 0, 0x23, 0x0c}) {
		t.Fatalf("long header %x", h[:n])
	}
	name, data, err := command(readyCommand("PUSH"))
	if err != nil || name != "READY" {
		t.Fatal(name, err)
	}
	if st, err := readyProperty(data, "socket-type"); err != nil || st != "PUSH" {
		t.Fatal(st, err)
	}
	if _, err := readyProperty([]byte{11, 'S'}, "Socket-Type"); err == nil {
		t.Fatal("accepted a truncated property")
	}
}
