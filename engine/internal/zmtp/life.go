package zmtp

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
)

// Life is what one end of a TCP bridge keeps to shut down cleanly: its
// listeners, its open connections and the goroutines Close waits for. Init
// it before use; it is safe for concurrent use.
type Life struct {
	closed atomic.Bool
	done   chan struct{}
	ctx    context.Context // cancelled by Close: ends dials
	cancel context.CancelFunc
	once   sync.Once
	wg     sync.WaitGroup

	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	listeners []net.Listener
}

// Init readies l.
func (l *Life) Init() {
	l.done = make(chan struct{})
	l.conns = map[net.Conn]struct{}{}
	l.ctx, l.cancel = context.WithCancel(context.Background())
}

// Closed reports whether Close has begun.
func (l *Life) Closed() bool { return l.closed.Load() }

// Done is closed when Close begins.
func (l *Life) Done() <-chan struct{} { return l.done }

// Context is cancelled when Close begins.
func (l *Life) Context() context.Context { return l.ctx }

// Go runs fn on a goroutine Close waits for.
func (l *Life) Go(fn func()) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		fn()
	}()
}

// SetListeners hands Close the listeners to close.
func (l *Life) SetListeners(ls ...net.Listener) {
	l.mu.Lock()
	l.listeners = ls
	l.mu.Unlock()
}

// Track registers nc so that Close closes it; false means Close has begun
// and nc is closed.
func (l *Life) Track(nc net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		nc.Close()
		return false
	}
	l.conns[nc] = struct{}{}
	return true
}

// Untrack closes nc and forgets it.
func (l *Life) Untrack(nc net.Conn) {
	nc.Close()
	l.mu.Lock()
	delete(l.conns, nc)
	l.mu.Unlock()
}

// Close, the first time, marks l closed, cancels its context, closes Done,
// the listeners and every tracked connection, then runs also (if not nil).
// Every call returns when the goroutines started by Go have ended.
func (l *Life) Close(also func()) {
	l.once.Do(func() {
		l.closed.Store(true)
		l.cancel()
		close(l.done)
		l.mu.Lock()
		for _, ln := range l.listeners {
			ln.Close()
		}
		for nc := range l.conns {
			nc.Close()
		}
		l.mu.Unlock()
		if also != nil {
			also()
		}
	})
	l.wg.Wait()
}
