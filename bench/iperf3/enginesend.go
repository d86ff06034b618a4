package iperf3

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// engineSender sends a stream through the engine's udp.Client: frames
// from its transmit pool, handed over in batches (SendBatch), on its
// transport (mmsg batches, or GSO coalescing with udp.TransportGRO). The
// handshake goes through the same endpoint, so the server sees one
// source address.
type engineSender struct {
	c      *udp.Client
	size   int
	wide   bool
	rate   float64
	prbs   bool
	tx     txCounters
	tmpl   []byte
	frames []engine.Frame
	reply  chan struct{}
}

// engineMaxLen is the largest datagram the engine's endpoints send.
const engineMaxLen = udp.MaxPayloadJumbo

func newEngineSender(dst netip.AddrPort, size int, wide, gso bool, rate float64, timeout time.Duration) (*engineSender, error) {
	t := udp.TransportMmsg
	if gso {
		t = udp.TransportGRO
	}
	c, err := udp.NewClient(dst.Addr().String(), int(dst.Port()), size > udp.MaxPayloadStandard,
		udp.WithTransport(t), udp.WithBatch(sendBatch))
	if err != nil {
		return nil, err
	}
	e := &engineSender{c: c, size: size, wide: wide, rate: rate, tmpl: make([]byte, size),
		frames: make([]engine.Frame, sendBatch), reply: make(chan struct{}, 1)}
	_, _ = rand.Read(e.tmpl)
	engine.Connect(c, engine.SlaveFunc(e.onFrame))
	if err := e.handshake(timeout); err != nil {
		c.Close()
		return nil, err
	}
	return e, nil
}

// onFrame notes the server's connect reply; anything else sent to a
// sending stream is ignored.
func (e *engineSender) onFrame(f engine.Frame) {
	if b, err := f.Bytes(); err == nil && IsConnectReply(b) {
		select {
		case e.reply <- struct{}{}:
		default:
		}
	}
}

func (e *engineSender) handshake(timeout time.Duration) error {
	f, err := e.c.ReqFrame(4, true)
	if err != nil {
		return err
	}
	_, err = f.Write(ConnectMsg[:])
	if err == nil {
		err = e.c.Send(f)
	}
	f.Release()
	if err != nil {
		return err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-e.reply:
		return nil
	case <-t.C:
		return fmt.Errorf("no connect reply within %v", timeout)
	}
}

func (e *engineSender) local() netip.AddrPort { return e.c.LocalAddr() }

func (e *engineSender) run(stop <-chan struct{}) {
	runPaced(stop, e.rate, e.size, len(e.frames), e.send, &e.tx.errors)
}

// send fills n frames numbered from base+1 and hands them to the engine.
func (e *engineSender) send(base uint64, n int) (int, error) {
	sec, usec := stamp(time.Now())
	var hdr [16]byte
	k := 0
	var err error
	for ; k < n; k++ {
		var f engine.Frame
		if f, err = e.c.ReqFrame(e.size, true); err != nil {
			break
		}
		PutHeader(hdr[:], sec, usec, base+uint64(k)+1, e.wide)
		if e.prbs {
			fillPRBS(e.tmpl[HeaderLen(e.wide):], base+uint64(k)+1)
		}
		_, _ = f.Write(e.tmpl)
		_, _ = f.WriteAt(hdr[:HeaderLen(e.wide)], 0)
		e.frames[k] = f
	}
	sent, serr := e.c.SendBatch(e.frames[:k])
	for i := 0; i < k; i++ {
		e.frames[i].Release()
	}
	if err == nil {
		err = serr
	}
	e.tx.packets.Add(uint64(sent))
	e.tx.bytes.Add(uint64(sent * e.size))
	return sent, err
}

func (e *engineSender) close() error { return e.c.Close() }
