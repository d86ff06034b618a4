package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// reverseClient is the receiving side of a reverse test on the client: a
// receiver answering the server's session as a server answers a client's,
// and a watcher catching the body of the server's end message (its sender
// summary).
type reverseClient struct {
	session uint64
	recv    *account.Receiver
	ends    *endWatcher
}

// newReverseClient attaches the receiving side to client before the test
// is opened, so that the server's hello, sent right after its welcome,
// finds it.
func newReverseClient(client *udp.Client, session uint64, c report.Case) (*reverseClient, error) {
	recv, err := account.NewReceiver(client, client, -1, c.PRBS)
	if err != nil {
		return nil, err
	}
	// The client's own reply slave takes the server's welcomes and results.
	recv.Replies = discard{}
	recv.MaxPayload = client.MaxPayload()
	if c.Transport != udp.TransportXDP {
		// The receive buffer a server gets.
		client.SetRxBufferCount(max(1, report.DefaultRxBuffer/(client.MaxPayload()+28)))
	}
	ends := &endWatcher{session: session, body: make(chan []byte, 4)}
	engine.Connect(client, ends) // before recv: it sees the end message first
	engine.Connect(client, recv)
	return &reverseClient{session: session, recv: recv, ends: ends}, nil
}

// run receives the test the server sends, reporting intervals as it goes,
// and fills the report with both sides' figures.
func (rc *reverseClient) run(ctx context.Context, cfg ClientConfig, c report.Case, rep *ClientReport) error {
	procStart, _ := cpu.Process()
	wallStart := time.Now()
	stop := account.RecordIntervals(cfg.Interval, account.NewMeter(wallStart, false), func() (account.Counters, uint64) {
		return rc.recv.Snapshot(), 0
	}, &rep.Intervals, cfg.onInterval())
	sum, err := rc.await(ctx, c.Duration+helloWait+endWait)
	stop()
	procEnd, _ := cpu.Process()
	rep.End.Process = report.ProcessCPUOf(procEnd.Sub(procStart))
	rep.End.hostWall = time.Since(wallStart)
	if err != nil {
		return err
	}
	rep.End.SumReceived = &sum
	body, err := rc.serverEnd()
	if err != nil {
		return err
	}
	rep.End.SumSent = body.Sent
	rep.End.remoteCPU = &body.CPU
	return nil
}

// serverEnd is the body of the server's end message: its sender summary.
// The watcher has it once the receiver has summarized the session.
func (rc *reverseClient) serverEnd() (reverseEnd, error) {
	var body reverseEnd
	select {
	case b := <-rc.ends.body:
		if err := json.Unmarshal(b, &body); err != nil {
			return body, fmt.Errorf("the server's end message is unreadable: %w", err)
		}
		return body, nil
	case <-time.After(time.Second):
		return body, errors.New("the server's end message carried no sender figures")
	}
}

// await waits for the receiver's summary of the session, which it makes
// when the server's end message arrives.
func (rc *reverseClient) await(ctx context.Context, limit time.Duration) (account.SessionSummary, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		select {
		case sum := <-rc.recv.Events:
			if uint64(sum.ID) == rc.session {
				return sum, nil
			}
		case <-deadline.C:
			return account.SessionSummary{}, fmt.Errorf("the server did not send and end the reverse test within %v", limit)
		case <-ctx.Done():
			return account.SessionSummary{}, fmt.Errorf("interrupted while receiving the reverse test: %w", ctx.Err())
		}
	}
}

// endWatcher keeps the body of the end message of one session.
type endWatcher struct {
	session uint64
	body    chan []byte
}

// AcceptFrame picks out the session's end message.
func (w *endWatcher) AcceptFrame(f engine.Frame) {
	data, err := f.Bytes()
	if err != nil || !wire.IsControl(data) {
		return
	}
	m, err := wire.Decode(data)
	if err != nil || m.Type != wire.TypeEnd || m.Session != w.session {
		return
	}
	select {
	case w.body <- append([]byte(nil), m.Body...):
	default: // a repeated end: the first is kept
	}
}
