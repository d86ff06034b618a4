//go:build !linux

package netns

// Pair is a receiver and a sender namespace; unavailable outside Linux.
type Pair struct{ Rx, Tx string }

// Check reports that namespaces are unavailable.
func Check() error { return ErrUnsupported }

// Create is unavailable outside Linux.
func Create() (*Pair, error) { return nil, ErrUnsupported }

// SetMTU is unavailable outside Linux.
func (p *Pair) SetMTU(mtu int) error { return ErrUnsupported }

// Do is unavailable outside Linux.
func (p *Pair) Do(ns string, fn func() error) error { return ErrUnsupported }

// Close does nothing outside Linux.
func (p *Pair) Close() error { return nil }

// Exists is always false outside Linux.
func Exists(ns string) bool { return false }
