package tcpbridge

import (
	"fmt"
	"sync"

	"udpstream.dev/engine/memory"
)

// Server is Rogue's memory TcpServer: a memory Master that serves the
// requests of remote TcpClients from its slave. It binds a PULL socket on
// addr:port (requests) and a PUSH socket on addr:port+1 (responses), and
// serves one request at a time, in order, as Rogue does; the response
// carries the client's id.
//
// A server has one client at a time, as Rogue's does in practice: ZeroMQ
// gives no way to pair a client's request connection with its response
// connection, so responses go to the newest response connection (Rogue's
// PUSH socket deals them round-robin among all of them).
type Server struct {
	ep  endpoint
	mem *memory.Master

	mu  sync.Mutex // one request at a time, from every client
	hdr [20]byte   // the response's header parts, under mu
}

// NewTcpServer serves slave on addr:port and addr:port+1 ("*" or "": every
// interface; port 0: a free pair, see Port).
func NewTcpServer(addr string, port int, slave memory.Slave) (*Server, error) {
	if port < 0 || port > 65534 {
		return nil, fmt.Errorf("tcpbridge: server port %d, want 0..65534", port)
	}
	if addr == "*" {
		addr = ""
	}
	s := &Server{mem: memory.NewMaster(slave)}
	s.ep.init(port, s.serveRequest)
	p, err := s.ep.listen(addr, port)
	if err != nil {
		return nil, err
	}
	s.ep.port = p
	return s, nil
}

// Port is the request port; responses leave from Port()+1.
func (s *Server) Port() int { return s.ep.port }

// Memory is the server's memory master (SetTimeout applies per request).
func (s *Server) Memory() *memory.Master { return s.mem }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats { return s.ep.st.snapshot() }

// Close fails the transaction in progress, closes every connection and
// returns when the server's goroutines have ended.
func (s *Server) Close() error {
	s.mem.Close()
	s.ep.close()
	return nil
}

// serveRequest runs one request and sends its response. Malformed
// requests are dropped without a response, as Rogue drops them.
func (s *Server) serveRequest(parts [][]byte, bad bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ep.st.rxMessages.Add(1)
	req, err := ParseRequest(parts)
	if err != nil || bad {
		s.ep.st.rxMalformed.Add(1)
		return
	}
	s.ep.st.rxOK.Add(1)
	h := header4(&s.hdr, req.ID, req.Address, req.Size, req.Type)
	if req.Type == memory.Probe {
		s.ep.send(h[0], h[1], h[2], h[3], nil, okResult)
		return
	}
	tx, err := s.mem.Acquire(req.Type, req.Address, int(req.Size))
	if err != nil {
		s.ep.send(h[0], h[1], h[2], h[3], nil, []byte(err.Error()))
		return
	}
	defer tx.Release()
	if req.Type.Writes() {
		copy(tx.Data, req.Data)
	}
	result := okResult
	s.mem.Start(tx)
	if err := tx.Wait(); err != nil {
		result = []byte(err.Error())
		if len(result) > MaxResult {
			result = result[:MaxResult]
		}
	}
	s.ep.send(h[0], h[1], h[2], h[3], tx.Data, result)
}
