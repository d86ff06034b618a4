package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

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

// reverseReq asks the server to send a reverse test.
type reverseReq struct {
	session uint64
	params  sessionParams
}

// reverseEnd is the body of the end message of a reverse test.
type reverseEnd struct {
	Sent report.SentSummary `json:"sum_sent"`
	CPU  report.HostCPU     `json:"cpu_utilization_percent"`
}

// ReverseSummary is a server's account of a reverse test
// ("end.reverse_sessions[]"): what it sent and what the client received.
type ReverseSummary struct {
	ID       report.SessionID   `json:"id"`
	Client   string             `json:"client,omitempty"`
	Sent     report.SentSummary `json:"sum_sent"`
	Received *SessionSummary    `json:"sum_received,omitempty"`
	// Error says why the test failed, if it did.
	Error string `json:"error,omitempty"`
}

// reverseHello handles a hello asking for a reverse test, on the delivery
// goroutine: it welcomes it and, the first time, hands it to Serve.
func (r *receiver) reverseHello(m wire.Message, p sessionParams) {
	if r.reverse == nil {
		r.controlErrors.Add(1) // not a server
		return
	}
	if !r.reverseSeen || r.reverseLast != m.Session {
		r.reverseSeen, r.reverseLast = true, m.Session
		select {
		case r.reverse <- reverseReq{session: m.Session, params: p}:
		default:
			r.controlErrors.Add(1)
			return
		}
	}
	r.send(wire.Message{Type: wire.TypeWelcome, Session: m.Session, A: uint64(r.maxPayload)}, nil)
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
func newReverseRunner(server *udp.Server, recv *receiver, cfg ServeConfig) *reverseRunner {
	ctx, cancel := context.WithCancel(context.Background())
	rr := &reverseRunner{ctx: ctx, cancel: cancel, server: server, replies: newReplySlave(), cfg: cfg,
		done: make(chan ReverseSummary, 16), sums: []ReverseSummary{}}
	recv.reverse, recv.replies = make(chan reverseReq, 4), rr.replies
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
func (rr *reverseRunner) start(req reverseReq) {
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
func (rr *reverseRunner) run(req reverseReq) ReverseSummary {
	out := ReverseSummary{ID: report.SessionID(req.session), Client: rr.server.Peer().String()}
	p := req.params
	r, err := report.ParseRate(p.Rate)
	if err != nil {
		out.Error = fmt.Sprintf("the client's rate: %v", err)
		return out
	}
	c := report.Case{Transport: rr.cfg.Transport, Payload: p.Payload, Batch: rr.cfg.Batch, Rate: r, PRBS: p.PRBS,
		Duration: time.Duration(p.Duration * float64(time.Second))}.WithDefaults()
	never := func() bool { return false }
	if err := hello(rr.ctx, rr.server, rr.replies, req.session, c, never); err != nil {
		out.Error = fmt.Sprintf("the client did not open the reverse test: %v", err)
		return out
	}
	snd, err := traffic.NewSender(rr.server, c.Payload, traffic.FramesPerCall(c.Transport, c.Payload, c.Batch), c.PRBS, c.Transport == udp.TransportXDP)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	defer snd.Release()
	snd.Stamp = stampable(c)
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
	sum, err := finishWith(rr.ctx, rr.server, rr.replies, req.session, out.Sent.Packets, out.Sent.Bytes, body)
	if err != nil {
		out.Error = fmt.Sprintf("the client's result: %v", err)
		return out
	}
	out.Received = &sum
	return out
}

// finishWith sends the end message with body until the peer's result
// arrives, endWait passes or ctx ends.
func finishWith(ctx context.Context, tx traffic.Transmitter, replies *replySlave, session, sent, sentBytes uint64, body []byte) (SessionSummary, error) {
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
				var sum SessionSummary
				if err := json.Unmarshal(r.body, &sum); err != nil {
					return sum, fmt.Errorf("the result is unreadable: %w", err)
				}
				return sum, nil
			case <-retry.C:
				waiting = false
			case <-deadline.C:
				return SessionSummary{}, fmt.Errorf("no result within %v", endWait)
			case <-ctx.Done():
				return SessionSummary{}, ctx.Err()
			}
		}
	}
}
