//go:build !linux

package engine

// pinSelf does nothing where thread affinity is not available.
func pinSelf(cpu int) func() { return func() {} }
