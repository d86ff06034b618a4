package tcpbridge

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"udpstream.dev/engine/memory"
)

// DefaultReconnectInterval is the client's pause between connection
// attempts (libzmq's default).
const DefaultReconnectInterval = 100 * time.Millisecond

// Client is Rogue's memory TcpClient: a memory Slave(4, 0xFFFFFFFF) whose
// transactions are carried out by a remote TcpServer's memory. It connects
// a PUSH socket to addr:port and a PULL socket to addr:port+1, and keeps
// retrying both until Close. Any number of transactions may be
// outstanding; a posted write completes once sent.
type Client struct {
	ep endpoint

	out memory.Outstanding
}

// NewTcpClient connects to a server at addr:port in the background.
func NewTcpClient(addr string, port int) (*Client, error) {
	if port <= 0 || port > 65534 {
		return nil, fmt.Errorf("tcpbridge: client port %d, want 1..65534", port)
	}
	if addr == "" {
		return nil, fmt.Errorf("tcpbridge: client needs a server address")
	}
	c := &Client{}
	c.ep.init(port, c.response)
	push := net.JoinHostPort(addr, strconv.Itoa(port))
	pull := net.JoinHostPort(addr, strconv.Itoa(port+1))
	c.ep.goTracked(func() { c.ep.dialLoop(push, true, DefaultReconnectInterval) })
	c.ep.goTracked(func() { c.ep.dialLoop(pull, false, DefaultReconnectInterval) })
	return c, nil
}

func (c *Client) MinAccess() uint32 { return 4 }
func (c *Client) MaxAccess() uint32 { return 0xFFFFFFFF }
func (c *Client) Address() uint64   { return 0 }

// Stats returns a snapshot of the counters.
func (c *Client) Stats() Stats { return c.ep.st.snapshot() }

// WaitReady sends probes until the server answers one (Rogue's
// TcpClient::waitReady) or ctx ends.
func (c *Client) WaitReady(ctx context.Context) error {
	m := memory.NewMaster(c)
	defer m.Close()
	m.SetTimeout(200 * time.Millisecond)
	for {
		tx, _ := m.Acquire(memory.Probe, 0, 0)
		m.Start(tx)
		err := tx.Wait()
		tx.Release()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("tcpbridge: server not ready: %w (last: %v)", ctx.Err(), err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// DoTransaction sends tx's request.
func (c *Client) DoTransaction(tx *memory.Transaction) {
	id := tx.ID()
	var h [20]byte
	hp := header4(&h, id, tx.Address, uint32(len(tx.Data)), tx.Type)
	post := tx.Type == memory.Post
	if !post && !c.out.Hold(tx, id) {
		tx.Complete(memory.Errorf(id, memory.ErrClosed, "tcpbridge: client closed"))
		return
	}
	var err error
	if tx.Type.Writes() {
		err = c.ep.send(hp[0], hp[1], hp[2], hp[3], tx.Data)
	} else {
		err = c.ep.send(hp[0], hp[1], hp[2], hp[3])
	}
	if err != nil {
		c.Forget(id)
		if tx.Claim(id) {
			tx.Finish(memory.Errorf(id, ErrNoPeer, "tcpbridge: transaction %d not sent: %v", id, err))
		}
		return
	}
	if post {
		tx.Complete(nil)
	}
}

// Forget drops id from the table (memory.Tracker).
func (c *Client) Forget(id uint32) { c.out.Forget(id) }

// response completes the transaction a response message answers.
func (c *Client) response(parts [][]byte, bad bool) {
	st := &c.ep.st
	st.rxMessages.Add(1)
	r, err := ParseResponse(parts)
	if err != nil || bad {
		st.rxMalformed.Add(1)
		return
	}
	tx := c.out.Take(r.ID)
	if tx == nil {
		st.rxUnknownID.Add(1)
		return
	}
	if !tx.Claim(r.ID) {
		st.rxExpired.Add(1)
		return
	}
	tx.Finish(c.check(tx, r))
}

// check compares a response with its transaction, as Rogue's TcpClient.
func (c *Client) check(tx *memory.Transaction, r Response) error {
	st := &c.ep.st
	size := uint32(len(tx.Data))
	if r.Address != tx.Address || r.Size != size || r.Type != tx.Type {
		st.rxMismatch.Add(1)
		return memory.Errorf(r.ID, ErrMismatch, "Transaction data mismatch in TcpClient")
	}
	if !tx.Type.Writes() && uint32(len(r.Data)) != size {
		st.rxMismatch.Add(1)
		return memory.Errorf(r.ID, ErrMismatch, "Received transaction response did not match header size")
	}
	st.rxOK.Add(1)
	if !bytes.Equal(r.Result, okResult) {
		return memory.Errorf(r.ID, ErrRemote, "%s", r.Result)
	}
	if !tx.Type.Writes() {
		copy(tx.Data, r.Data)
	}
	return nil
}

// Close fails every outstanding transaction with memory.ErrClosed, closes
// the connections and returns when the client's goroutines have ended.
func (c *Client) Close() error {
	c.out.Close("tcpbridge: client")
	c.ep.close()
	return nil
}
