package tcpbridge

import (
	"bytes"
	"net"
	"testing"
	"time"

	"udpstream.dev/engine/memory"
)

// byteConn is a net.Conn reading a fixed byte stream and discarding
// writes (PONGs).
type byteConn struct{ r *bytes.Reader }

func (c byteConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c byteConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c byteConn) Close() error                     { return nil }
func (c byteConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c byteConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c byteConn) SetDeadline(time.Time) error      { return nil }
func (c byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c byteConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzMessages feeds a byte stream (ZMTP frames after the handshake) to
// the message reader and every message to both parsers and to a server
// and a client: no panic, and every message counted once by each.
func FuzzMessages(f *testing.F) {
	var h [20]byte
	p := header4(&h, 7, 0x1000, 8, memory.Write)
	f.Add(appendMessage(nil, p[0], p[1], p[2], p[3], []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	p = header4(&h, 8, 0x1000, 8, memory.Read)
	f.Add(appendMessage(nil, p[0], p[1], p[2], p[3]))
	f.Add(appendMessage(nil, p[0], p[1], p[2], p[3], []byte{1, 2, 3, 4, 5, 6, 7, 8}, okResult))
	p = header4(&h, 9, 0, 0, memory.Probe)
	f.Add(appendMessage(append(appendMessage(nil, p[0], p[1], p[2], p[3]), 0x04, 0x07, 0x04, 'P', 'I', 'N', 'G', 0, 1), p[0]))
	f.Add([]byte{0x02, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x01})
	f.Fuzz(func(t *testing.T, stream []byte) {
		s := newSock(byteConn{bytes.NewReader(stream)}, false)
		srv := &Server{mem: memory.NewMaster(memory.NewEmulate(4, 4096))}
		srv.ep.init(0, nil)
		srv.ep.wait = 0
		cli := &Client{}
		cli.ep.init(0, nil)
		cli.ep.wait = 0
		n := uint64(0)
		for {
			parts, bad, err := s.readMessage()
			if err != nil {
				break
			}
			n++
			if len(parts) > maxParts {
				t.Fatalf("%d parts kept", len(parts))
			}
			ParseRequest(parts)
			ParseResponse(parts)
			srv.serveRequest(parts, bad) // no connection: responses are counted as not sent
			cli.response(parts, bad)
		}
		ss, cs := srv.Stats(), cli.Stats()
		if ss.RxMessages != n || ss.RxOK+ss.RxMalformed != n {
			t.Fatalf("server counted %+v for %d messages", ss, n)
		}
		if cs.RxMessages != n || cs.RxOK+cs.RxMalformed+cs.RxUnknownID+cs.RxExpired+cs.RxMismatch != n {
			t.Fatalf("client counted %+v for %d messages", cs, n)
		}
		if ss.TxMessages != 0 || ss.TxNoPeer != ss.RxOK {
			t.Fatalf("server without a connection: %+v", ss)
		}
	})
}
