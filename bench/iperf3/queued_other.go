//go:build !linux

package iperf3

import "net"

// queued cannot ask the receive queue here.
func queued(uc *net.UDPConn) (waiting, ok bool) { return false, false }
