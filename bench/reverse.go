package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"udpstream.dev/bench/account"
	"udpstream.dev/bench/internal/cpu"
	"udpstream.dev/bench/report"
	"udpstream.dev/bench/traffic"
	"udpstream.dev/bench/wire"
	"udpstream.dev/engine"
	"udpstream.dev/engine/udp"
)

// A reverse test (client -R, iperf3's --reverse) turns the roles round
// once the client's hello is welcomed: the server opens a session towards
// the client with a hello of its own, sends for the test's duration at the
// client's rate and payload, and closes it with an end message whose body
// carries its sender summary; the client's receiver answers it with its
// result, as a server does in a forward test.

// reverseEnd is the body of the end message of a reverse test.
type reverseEnd struct {
	Sent report.SentSummary `json:"sum_sent"`
	CPU  report.HostCPU     `json:"cpu_utilization_percent"`
}

// ReverseSummary is a server's account of a reverse test
// ("end.reverse_sessions[]"): what it sent and what the client received.
type ReverseSummary struct {
	ID       report.SessionID        `json:"id"`
	Client   string                  `json:"client,omitempty"`
	Sent     report.SentSummary      `json:"sum_sent"`
	Received *account.SessionSummary `json:"sum_received,omitempty"`
	// Error says why the test failed, if it did.
	Error string `json:"error,omitempty"`
}

// discard is a slave that ignores every frame.
type discard struct{}

// AcceptFrame ignores f.
func (discard) AcceptFrame(engine.Frame) {}

// reverseRunner runs a server's reverse tests, one goroutine each.
type reverseRunner struct {
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	server  *udp.Server
	replies *replySlave
	cfg     ServeConfig
	done    chan ReverseSummary
	sums    []ReverseSummary // the tests that ended, for the report
}

// newReverseRunner makes recv, a server's receiver, hand reverse tests
// and the client's replies to them to the runner.
func newReverseRunner(server *udp.Server, recv *account.Receiver, cfg ServeConfig) *reverseRunner {
	ctx, cancel := context.WithCancel(context.Background())
	rr := &reverseRunner{ctx: ctx, cancel: cancel, server: server, replies: newReplySlave(), cfg: cfg,
		done: make(chan ReverseSummary, 16), sums: []ReverseSummary{}}
	recv.Reverse, recv.Replies = make(chan account.ReverseReq, 4), rr.replies
	return rr
}

// ended records a finished test.
func (rr *reverseRunner) ended(sum ReverseSummary) {
	rr.sums = append(rr.sums, sum)
	if rr.cfg.OnReverse != nil {
		rr.cfg.OnReverse(sum)
	}
}

// start runs the test req asks for.
func (rr *reverseRunner) start(req account.ReverseReq) {
	rr.wg.Add(1)
	go func() {
		defer rr.wg.Done()
		sum := rr.run(req)
		select {
		case rr.done <- sum:
		default:
			// Serve has stopped reading; the buffer normally holds it.
			select {
			case rr.done <- sum:
			case <-rr.ctx.Done():
			}
		}
	}()
}

// stop ends the running tests, waits for them and records those that
// ended meanwhile.
func (rr *reverseRunner) stop() {
	rr.cancel()
	rr.wg.Wait()
	for len(rr.done) > 0 {
		rr.ended(<-rr.done)
	}
}

// run sends one reverse test to the client.
func (rr *reverseRunner) run(req account.ReverseReq) ReverseSummary {
	out := ReverseSummary{ID: report.SessionID(req.Session), Client: rr.server.Peer().String()}
	p := req.Params
	r, err := report.ParseRate(p.Rate)
	if err != nil {
		out.Error = fmt.Sprintf("the client's rate: %v", err)
		return out
	}
	c := report.Case{Transport: rr.cfg.Transport, Payload: p.Payload, Batch: rr.cfg.Batch, Rate: r, PRBS: p.PRBS,
		Duration: time.Duration(p.Duration * float64(time.Second))}.WithDefaults()
	never := func() bool { return false }
	if err := hello(rr.ctx, rr.server, rr.replies, req.Session, c, never); err != nil {
		out.Error = fmt.Sprintf("the client did not open the reverse test: %v", err)
		return out
	}
	snd, err := traffic.NewSender(rr.server, c.Payload, traffic.FramesPerCall(c.Transport, c.Payload, c.Batch), c.PRBS, c.Transport == udp.TransportXDP)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	defer snd.Release()
	snd.Stamp = account.Stampable(c)
	procStart, _ := cpu.Process()
	wallStart := time.Now()
	elapsed, usage, _, err := sendPinned(rr.ctx, snd, c, -1)
	procEnd, _ := cpu.Process()
	out.Sent = sentSummary(elapsed, snd, usage, rr.server.Stats())
	if err != nil {
		out.Error = fmt.Sprintf("sending: %v", err)
		return out
	}
	body, _ := json.Marshal(reverseEnd{Sent: out.Sent, CPU: report.HostCPUOf(procEnd.Sub(procStart), time.Since(wallStart))})
	sum, err := finishWith(rr.ctx, rr.server, rr.replies, req.Session, out.Sent.Packets, out.Sent.Bytes, body)
	if err != nil {
		out.Error = fmt.Sprintf("the client's result: %v", err)
		return out
	}
	out.Received = &sum
	return out
}

// finishWith sends the end message with body until the peer's result
// arrives, endWait passes or ctx ends.
func finishWith(ctx context.Context, tx traffic.Transmitter, replies *replySlave, session, sent, sentBytes uint64, body []byte) (account.SessionSummary, error) {
	deadline := time.NewTimer(endWait)
	defer deadline.Stop()
	retry := time.NewTicker(endRetry)
	defer retry.Stop()
	for {
		traffic.Control(tx, wire.Message{Type: wire.TypeEnd, Session: session, A: sent, B: sentBytes, Body: body})
		for waiting := true; waiting; {
			select {
			case r := <-replies.result:
				if r.session != session {
					continue // a late answer to an earlier test
				}
				var sum account.SessionSummary
				if err := json.Unmarshal(r.body, &sum); err != nil {
					return sum, fmt.Errorf("the result is unreadable: %w", err)
				}
				return sum, nil
			case <-retry.C:
				waiting = false
			case <-deadline.C:
				return account.SessionSummary{}, fmt.Errorf("no result within %v", endWait)
			case <-ctx.Done():
				return account.SessionSummary{}, ctx.Err()
			}
		}
	}
}
