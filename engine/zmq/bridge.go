package zmq

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"udpstream.dev/engine"
	"udpstream.dev/engine/internal/zmtp"
)

var (
	// ErrNoPeer is returned by Send when no peer was connected within the
	// send timeout.
	ErrNoPeer = errors.New("zmq: no connected peer")
	// ErrSendTimeout is returned by Send when the peer did not take the
	// frame within the send timeout.
	ErrSendTimeout = errors.New("zmq: peer did not take the frame within the send timeout")
	// ErrPeerLost is returned by Send when the connection failed while the
	// frame was being written.
	ErrPeerLost = errors.New("zmq: connection lost while sending")
)

// Bridge is one end of Rogue's stream TCP bridge: a Slave whose frames go
// to the remote end, and a Master whose slaves get the frames the remote
// end sends (Rogue's TcpCore, made by NewTcpServer or NewTcpClient).
//
// Received frames are delivered on the bridge's receive goroutines, one
// frame at a time: a slow slave holds back the peer, as in Rogue. Send may
// be called from several goroutines; frames go out one at a time.
type Bridge struct {
	engine.Master

	cfg  config
	log  rateLog
	st   counters
	port int
	name string

	life zmtp.Life // listeners, connections, goroutines; Close

	peers  atomic.Pointer[peerSet] // PUSH connections ready for frames
	peerMu sync.Mutex              // serialises changes to peers

	rxMu   sync.Mutex // one frame at a time to the slaves
	sendMu sync.Mutex // one frame at a time to the peers
	tx     txState    // guarded by sendMu
	rr     int        // round-robin position, guarded by sendMu
}

// conn is one TCP connection of the bridge.
type conn struct {
	nc   *net.TCPConn
	raw  syscall.RawConn
	rd   *reader
	push bool // frames are sent on it, under sendMu
}

// peerSet is an immutable list of PUSH connections; changed is closed when
// a newer set replaces it, waking senders that wait for a peer.
type peerSet struct {
	conns   []*conn
	changed chan struct{}
}

func newBridge(name string, port int, opts []Option) (*Bridge, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &Bridge{cfg: cfg, port: port, name: name}
	b.life.Init()
	b.log.l = cfg.logger.With("bridge", name)
	b.peers.Store(&peerSet{changed: make(chan struct{})})
	b.tx.init(cfg)
	return b, nil
}

// Port is the base port P: the server's PULL port and the client's PUSH
// destination. P+1 carries the other direction.
func (b *Bridge) Port() int { return b.port }

// Pool is the pool received frames come from; Rogue's setFixedSize and
// setPoolSize on the bridge are Pool().SetFixedSize and SetPoolSize.
func (b *Bridge) Pool() *engine.Pool { return b.cfg.pool }

// Stats returns a snapshot of the counters.
func (b *Bridge) Stats() Stats {
	s := b.st.snapshot()
	s.Peers = len(b.peers.Load().conns)
	return s
}

// AcceptFrame sends f to the peer (the engine.Slave interface). Failures
// are counted in Stats; Send returns them.
func (b *Bridge) AcceptFrame(f engine.Frame) { _ = b.Send(f) }

// Close stops the bridge: it closes the listeners and every connection
// (unsent data is dropped, like ZMQ_LINGER 0), wakes a Send that waits,
// and returns when every goroutine of the bridge has ended, which includes
// a delivery to a slave under way. It must not be called from a slave of
// this bridge. Later calls return nil.
func (b *Bridge) Close() error {
	b.life.Close(func() { b.Master.Close() })
	return nil
}

// track registers a new connection so that Close can end it; false means
// the bridge is closing and the connection was closed.
func (b *Bridge) track(nc net.Conn, push bool) (*conn, bool) {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		return nil, false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		nc.Close()
		return nil, false
	}
	if !b.life.Track(tc) {
		return nil, false
	}
	return &conn{nc: tc, raw: raw, rd: newReader(tc), push: push}, true
}

func (b *Bridge) untrack(c *conn) { b.life.Untrack(c.nc) }

// addPeer makes c a destination for frames.
func (b *Bridge) addPeer(c *conn) {
	b.changePeers(func(cs []*conn) []*conn { return append(cs, c) })
}

// removePeer takes c out of the destinations and closes it; it is safe to
// call more than once.
func (b *Bridge) removePeer(c *conn) {
	c.nc.Close()
	b.changePeers(func(cs []*conn) []*conn {
		out := cs[:0:0]
		for _, x := range cs {
			if x != c {
				out = append(out, x)
			}
		}
		return out
	})
}

func (b *Bridge) changePeers(edit func([]*conn) []*conn) {
	b.peerMu.Lock()
	defer b.peerMu.Unlock()
	old := b.peers.Load()
	cs := edit(append([]*conn(nil), old.conns...))
	b.peers.Store(&peerSet{conns: cs, changed: make(chan struct{})})
	close(old.changed)
}

// goTracked runs fn on a goroutine that Close waits for.
func (b *Bridge) goTracked(fn func()) { b.life.Go(fn) }

// logger is the user's logger with the bridge's name.
func (b *Bridge) logger() *slog.Logger { return b.log.l }
