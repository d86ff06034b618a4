//go:build linux

package udp

import (
	"errors"
	"testing"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/internal/testutils"
	"udpstream.dev/mmsg"
)

// deadlineArms is how many times the endpoint's socket path armed a
// write deadline.
func deadlineArms(e *endpoint) uint64 {
	p := socketsOf(e)
	p.txr.txMu.Lock()
	defer p.txr.txMu.Unlock()
	return p.txs.arms
}

// TestSendArmsNoDeadlineWithRoom: single sends, batches and AcceptFrame
// into a socket with room go out without arming a write deadline; only a
// full socket arms one (TestTransmitTimeout shows that path). This is the
// transmit policy the single and batch sends share.
func TestSendArmsNoDeadlineWithRoom(t *testing.T) {
	testutils.Leak(t)
	for _, tr := range allTransports {
		t.Run(tr.String(), func(t *testing.T) {
			s := mustServer(t, false, WithTransport(tr))
			c := mustClient(t, "127.0.0.1", s.Port(), false, WithTransport(tr))
			col := newCollector(1+8+1, false)
			engine.Connect(s, col)
			fs := make([]engine.Frame, 8)
			for i := range fs {
				fs[i] = frameOf(t, c.ep.txPool, make([]byte, 1000))
				defer fs[i].Release()
			}
			if err := c.Send(fs[0]); err != nil {
				t.Fatal(err)
			}
			if n, err := c.SendBatch(fs); n != len(fs) || err != nil {
				t.Fatalf("SendBatch = %d, %v", n, err)
			}
			c.AcceptFrame(fs[0])
			col.wait(t, 5*time.Second)
			if a := deadlineArms(c.ep); a != 0 {
				t.Fatalf("%d write deadlines armed for sends into a socket with room", a)
			}
			if st := c.Stats(); st.TxFrames != 10 || st.TxTimeouts != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestWriteSplitUnderDeadline: a GSO message that must be cut in software
// (GSO off) is not started by the no-wait attempt, since a part of it
// could not be taken back; write sends it whole under the deadline.
func TestWriteSplitUnderDeadline(t *testing.T) {
	testutils.Leak(t)
	s := mustServer(t, false, WithTransport(TransportGRO))
	c := mustClient(t, "127.0.0.1", s.Port(), false, WithTransport(TransportGRO))
	col := newCollector(4, false)
	engine.Connect(s, col)
	p := socketsOf(c.ep)
	p.socks[0].mc.DisableGSO()
	msgs := []mmsg.Message{{Buffers: [][]byte{make([]byte, 4000)}, SegmentSize: 1000}}
	p.txr.txMu.Lock()
	n, err := p.write(msgs, false)
	arms := p.txs.arms
	p.txr.txMu.Unlock()
	if n != 1 || err != nil || msgs[0].N != 4000 {
		t.Fatalf("write = %d, %v; %d bytes sent", n, err, msgs[0].N)
	}
	if arms != 1 {
		t.Fatalf("%d write deadlines armed for a message cut in software, want 1", arms)
	}
	col.wait(t, 5*time.Second)
}

// TestZeroTimeoutBatch: with a zero transmit timeout a batch, like a
// single frame, is tried once: into a full socket it fails with
// ErrTxTimeout without waiting, and counts every frame it did not send.
func TestZeroTimeoutBatch(t *testing.T) {
	testutils.Leak(t)
	side, dst := slowPath(t)
	for _, tr := range []Transport{TransportMmsg, TransportGRO} {
		t.Run(tr.String(), func(t *testing.T) {
			c := clientIn(t, side, dst, WithTransport(tr))
			defer c.Close()
			if _, err := socketsOf(c.ep).socks[0].mc.SetWriteBuffer(4096); err != nil {
				t.Fatal(err)
			}
			c.SetTimeout(0)
			fs := make([]engine.Frame, 4)
			for i := range fs {
				fs[i] = frameOf(t, c.ep.txPool, make([]byte, 1000))
				defer fs[i].Release()
			}
			var sent int
			var err error
			for i := 0; err == nil; i++ {
				if i > 1000 {
					t.Fatal("1000 batches into a full queue never failed")
				}
				var n int
				n, err = c.SendBatch(fs)
				sent += n
			}
			if !errors.Is(err, ErrTxTimeout) {
				t.Fatalf("SendBatch into a full buffer: %v, want ErrTxTimeout", err)
			}
			st := c.Stats()
			if st.TxFrames != uint64(sent) || st.TxFrames+st.TxTimeouts == 0 || (st.TxFrames+st.TxTimeouts)%uint64(len(fs)) != 0 {
				t.Fatalf("stats %+v after %d frames sent: every frame is sent or timed out", st, sent)
			}
		})
	}
}
