//go:build !linux

package udp

// pinSelf does nothing where thread affinity is not available.
func pinSelf(cpu int) func() { return func() {} }
