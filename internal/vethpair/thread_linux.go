package vethpair

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// onThread runs fn on a new goroutine locked to its OS thread and returns
// fn's error. fn reports whether the thread is back in the namespace it
// started in; if not, the goroutine exits still locked, so the runtime
// retires the thread instead of letting another goroutine inherit the
// namespace.
func onThread(fn func() (restored bool, err error)) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored, err := fn()
		if restored {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// newNS creates an anonymous network namespace without moving the caller.
func newNS() (netns.NsHandle, error) {
	ns := netns.None()
	err := onThread(func() (bool, error) {
		orig, err := netns.Get()
		if err != nil {
			return true, fmt.Errorf("open own namespace: %w", err)
		}
		defer orig.Close()
		created, err := netns.New()
		if err != nil {
			// unshare failed before moving the thread, or the thread
			// moved and only the handle could not be opened: return
			// to be sure.
			if serr := netns.Set(orig); serr != nil {
				return false, errors.Join(err, serr)
			}
			return true, err
		}
		if err := netns.Set(orig); err != nil {
			created.Close()
			return false, fmt.Errorf("return to own namespace: %w", err)
		}
		ns = created
		return true, nil
	})
	return ns, err
}

// Do runs fn on a goroutine locked to an OS thread inside the side's
// namespace and returns its error. Sockets created by fn stay in that
// namespace for their whole life and may be used from any goroutine
// afterwards; goroutines started by fn run in the caller's namespace.
// The thread returns to its namespace afterwards, or is retired if it
// cannot.
func (s *Side) Do(fn func() error) error {
	if !s.NS.IsOpen() {
		return ErrClosed
	}
	target := s.NS
	return onThread(func() (bool, error) {
		orig, err := netns.Get()
		if err != nil {
			return true, fmt.Errorf("vethpair: open own namespace: %w", err)
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			return true, fmt.Errorf("vethpair: enter namespace of %s: %w", s.Link, err)
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			return false, errors.Join(ferr, fmt.Errorf("vethpair: return from namespace of %s: %w", s.Link, err))
		}
		return true, ferr
	})
}
