//go:build !linux

package cpu

// Thread is not available outside Linux.
func Thread() (Usage, error) { return Usage{}, ErrUnsupported }

// Process is not available outside Linux.
func Process() (Usage, error) { return Usage{}, ErrUnsupported }

// Allowed is not available outside Linux.
func Allowed() ([]int, error) { return nil, ErrUnsupported }

// Affinity is a saved CPU mask; empty outside Linux.
type Affinity struct{}

// Pin is not available outside Linux.
func Pin(tid, cpu int) (Affinity, error) { return Affinity{}, ErrUnsupported }

// Restore does nothing outside Linux.
func (a Affinity) Restore() error { return nil }
