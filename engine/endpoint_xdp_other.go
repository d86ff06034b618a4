//go:build !linux

package engine

import (
	"errors"
	"net/netip"
)

// xdpPath is the AF_XDP data path, which needs Linux; elsewhere the
// constructors refuse TransportXDP and none of these methods is reached.
type xdpPath struct{}

var errNoXDP = errors.New("engine: transport xdp needs Linux")

func (e *endpoint) openXDP(port int, remote netip.AddrPort) (*Pool, error) { return nil, errNoXDP }

func (x *xdpPath) localAddr() netip.AddrPort                   { return netip.AddrPort{} }
func (x *xdpPath) setRxBufferCount(count int) bool             { return false }
func (x *xdpPath) addStats(st *Stats)                          {}
func (x *xdpPath) shutdown() error                             { return errNoXDP }
func (x *xdpPath) finish() error                               { return errNoXDP }
func (x *xdpPath) send(f Frame) error                          { return errNoXDP }
func (x *xdpPath) transmit(fs []Frame, mark bool) (int, error) { return 0, errNoXDP }
