package iperf3

import (
	"net"
	"sync"
	"time"

	"udpstream.dev/mmsg"
)

// dataSock is a UDP data socket with batched I/O where the system has it
// (mmsg) and one datagram per call elsewhere. Reads belong to one
// goroutine; writes may come from several (the server's sending streams
// share its port) and are serialised.
type dataSock struct {
	uc  *net.UDPConn
	mc  *mmsg.Conn // nil without batched I/O
	wmu sync.Mutex
}

// newDataSock wraps uc; rxBuffer > 0 asks for that receive buffer (beyond
// the system's limit where the process may), which a receiver of bursts
// needs: the default holds about a hundred 1472-byte datagrams.
func newDataSock(uc *net.UDPConn, batch int, gro bool, rxBuffer int) *dataSock {
	d := &dataSock{uc: uc}
	if mc, err := mmsg.NewConn(uc, batch); err == nil {
		d.mc = mc
		if gro {
			_ = mc.EnableGRO() // without GRO the reads still work, one datagram each
		}
		if rxBuffer > 0 {
			_, _ = mc.SetReadBuffer(rxBuffer) // a smaller buffer still works
		}
	} else if rxBuffer > 0 {
		_ = uc.SetReadBuffer(rxBuffer)
	}
	return d
}

// DefaultRxBuffer is the receive buffer asked for on data sockets.
const DefaultRxBuffer = 16 << 20

// batched reports whether reads and writes move many datagrams per call.
func (d *dataSock) batched() bool { return d.mc != nil }

// gsoOK reports whether the kernel segments GSO sends on this socket.
func (d *dataSock) gsoOK() bool { return d.mc != nil && d.mc.GSOEnabled() }

// groOK reports whether receives may hold GRO runs.
func (d *dataSock) groOK() bool { return d.mc != nil && d.mc.GROEnabled() }

func (d *dataSock) read(msgs []mmsg.Message) (int, error) {
	if d.mc != nil {
		return d.mc.ReadBatch(msgs)
	}
	m := &msgs[0]
	n, addr, err := d.uc.ReadFromUDPAddrPort(m.Buffers[0])
	if err != nil {
		return 0, err
	}
	m.N, m.Addr, m.SegmentSize, m.Truncated = n, addr, 0, false
	return 1, nil
}

// write sends msgs (to their Addr, or to the connected peer when Addr is
// zero) and returns how many went.
// A write waits at most writeWait for room in the socket buffer, so that
// a stopped sender never waits on a full socket for long.
func (d *dataSock) write(msgs []mmsg.Message) (int, error) {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	_ = d.uc.SetWriteDeadline(time.Now().Add(writeWait))
	if d.mc != nil {
		return d.mc.WriteBatch(msgs)
	}
	for i := range msgs {
		m := &msgs[i]
		var err error
		if m.Addr.IsValid() {
			_, err = d.uc.WriteToUDPAddrPort(m.Buffers[0], m.Addr)
		} else {
			_, err = d.uc.Write(m.Buffers[0])
		}
		if err != nil {
			return i, err
		}
	}
	return len(msgs), nil
}

// writeWait bounds one write call's wait for socket buffer room.
const writeWait = 50 * time.Millisecond

// kernelDrops is the socket's kernel drop counter (0 where unknown).
func (d *dataSock) kernelDrops() uint64 {
	if d.mc == nil {
		return 0
	}
	return d.mc.KernelDrops()
}

func (d *dataSock) close() error {
	if d.mc != nil {
		return d.mc.Close()
	}
	return d.uc.Close()
}
