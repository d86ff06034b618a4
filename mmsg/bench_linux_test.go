//go:build linux

package mmsg

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"
)

// The benchmarks measure loopback UDP end to end: one goroutine sends as fast
// as it can, the benchmark goroutine receives, and one benchmark operation is
// one datagram received. The sender outruns the receiver on every path, so
// the figures are the receive path's capacity with the sender competing for
// the second core, as in the C reference pair (refsend -> refrecv, tools/csrc); the
// datagrams the kernel drops for lack of receive-buffer room are reported as
// loss-%. BenchmarkSend measures the sending side alone.

// benchModes are the paths compared: one datagram per syscall, sendmmsg and
// recvmmsg with 64 messages per call, GSO buffers to a plain batched reader,
// and GSO buffers to a GRO reader.
var benchModes = []struct {
	name     string
	gso, gro bool
	one      bool
}{
	{name: "naive", one: true},
	{name: "batch64"},
	{name: "gso-mmsg", gso: true},
	{name: "gso-gro", gso: true, gro: true},
}

var benchPayloads = []int{1472, 8972}

// sendBatch builds the messages the sender repeats: 64 datagrams, or with
// GSO 16 buffers of as many datagrams as fit one IPv4 GSO send.
func sendBatch(dst netip.AddrPort, payloadSize int, gso bool) (msgs []Message, perMsg int) {
	count, perMsg := 64, 1
	if gso {
		count, perMsg = 16, GSOSegments(payloadSize, MaxPayloadIPv4, MaxGSOSegments)
	}
	msgs = make([]Message, count)
	for i := range msgs {
		m := Message{Buffers: [][]byte{make([]byte, payloadSize*perMsg)}, Addr: dst}
		if gso {
			m.SegmentSize = payloadSize
		}
		msgs[i] = m
	}
	return msgs, perMsg
}

func BenchmarkLoopback(b *testing.B) {
	for _, mode := range benchModes {
		for _, size := range benchPayloads {
			b.Run(fmt.Sprintf("%s/%d", mode.name, size), func(b *testing.B) {
				benchLoopback(b, size, mode.one, mode.gso, mode.gro)
			})
		}
	}
}

func benchLoopback(b *testing.B, size int, one, gso, gro bool) {
	ruc := listen(b, "udp4", "127.0.0.1:0")
	batch := 64
	if one {
		batch = 1
	}
	r := wrap(b, ruc, batch)
	if _, err := r.SetReadBuffer(64 << 20); err != nil {
		b.Fatal(err)
	}
	bufSize := size
	if gro {
		if err := r.EnableGRO(); err != nil {
			b.Skipf("kernel refused UDP_GRO: %v", err)
		}
		bufSize = GROBufferSize
	}
	suc := listen(b, "udp4", "127.0.0.1:0")
	s := wrap(b, suc, batch)
	if _, err := s.SetWriteBuffer(16 << 20); err != nil {
		b.Fatal(err)
	}
	if gso && !s.GSOEnabled() {
		b.Skipf("kernel lacks UDP GSO: %v", s.gsoError())
	}
	out, perMsg := sendBatch(localAddr(ruc), size, gso)
	in := recvBuffers(batch, bufSize)
	if err := ruc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		b.Fatal(err)
	}

	var stop atomic.Bool
	var sent atomic.Int64
	senderDone := make(chan error, 1)
	go func() {
		var err error
		var n int64
		for !stop.Load() {
			if one {
				err = s.WriteOne(&out[0])
				n += int64(perMsg)
			} else {
				var k int
				k, err = s.WriteBatch(out)
				n += int64(k * perMsg)
			}
			if err != nil {
				break
			}
		}
		sent.Store(n)
		senderDone <- err
	}()

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	received := 0
	for received < b.N {
		n, err := r.ReadBatch(in) // in holds one message in the naive mode
		if err != nil {
			stop.Store(true)
			<-senderDone
			b.Fatalf("read after %d datagrams: %v", received, err)
		}
		for _, m := range in[:n] {
			received += m.Datagrams()
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	stop.Store(true)
	if err := <-senderDone; err != nil {
		b.Fatalf("sender: %v", err)
	}
	secs := elapsed.Seconds()
	b.ReportMetric(float64(received)/secs, "datagrams/s")
	b.ReportMetric(float64(received)*float64(size)*8/secs/1e9, "Gbit/s")
	if total := sent.Load(); total > 0 {
		b.ReportMetric(100*max(0, float64(total-int64(received)))/float64(total), "loss-%")
	}
}

// BenchmarkSend measures the sending side alone: datagrams go to a socket
// with a large receive buffer that nobody reads, so once it is full the
// kernel drops them after the whole loopback transmit path has run. One
// operation is one datagram sent.
func BenchmarkSend(b *testing.B) {
	for _, mode := range benchModes {
		if mode.gro {
			continue // GRO is a receive feature
		}
		name := mode.name
		if mode.gso {
			name = "gso"
		}
		for _, size := range benchPayloads {
			b.Run(fmt.Sprintf("%s/%d", name, size), func(b *testing.B) {
				ruc := listen(b, "udp4", "127.0.0.1:0")
				if err := ruc.SetReadBuffer(64 << 20); err != nil {
					b.Fatal(err)
				}
				batch := 64
				if mode.one {
					batch = 1
				}
				s := wrap(b, listen(b, "udp4", "127.0.0.1:0"), batch)
				if mode.gso && !s.GSOEnabled() {
					b.Skipf("kernel lacks UDP GSO: %v", s.gsoError())
				}
				out, perMsg := sendBatch(localAddr(ruc), size, mode.gso)
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				sent := 0
				for sent < b.N {
					if mode.one {
						if err := s.WriteOne(&out[0]); err != nil {
							b.Fatal(err)
						}
						sent++
						continue
					}
					k, err := s.WriteBatch(out)
					if err != nil {
						b.Fatal(err)
					}
					sent += k * perMsg
				}
				secs := time.Since(start).Seconds()
				b.StopTimer()
				b.ReportMetric(float64(sent)/secs, "datagrams/s")
				b.ReportMetric(float64(sent)*float64(size)*8/secs/1e9, "Gbit/s")
			})
		}
	}
}
