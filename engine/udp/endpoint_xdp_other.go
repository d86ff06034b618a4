//go:build !linux

package udp

import (
	"errors"
	"net/netip"
	"sync"

	"udpstream.dev/engine"
)

// xdpPath is the AF_XDP data path, which needs Linux; elsewhere the
// constructors refuse TransportXDP and none of these methods is reached.
type xdpPath struct{}

var errNoXDP = errors.New("udp: transport xdp needs Linux")

func (e *endpoint) openXDP(port int) (transport, *engine.Pool, error) {
	return nil, nil, errNoXDP
}

func (x *xdpPath) start(wg *sync.WaitGroup)                    {}
func (x *xdpPath) localAddr() netip.AddrPort                   { return netip.AddrPort{} }
func (x *xdpPath) setRxBufferCount(count int) bool             { return false }
func (x *xdpPath) addStats(st Stats) Stats                     { return st }
func (x *xdpPath) shutdown() error                             { return errNoXDP }
func (x *xdpPath) finish() error                               { return errNoXDP }
func (x *xdpPath) send(f engine.Frame, _ netip.AddrPort) error { return errNoXDP }
func (x *xdpPath) transmit(fs []engine.Frame, _ netip.AddrPort, mark bool) txResult {
	return txResult{first: errNoXDP}
}
