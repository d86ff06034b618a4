//go:build !linux

package udp

import (
	"errors"
	"syscall"
)

// The UDP endpoints are built on Linux system calls (recvmmsg, sendmmsg,
// UDP GSO/GRO); elsewhere the constructors report that they are missing.

const udpSupported = false

var errNoUDP = errors.New("udp: the UDP server and client need Linux")

func socketControl(reuse bool, busyPoll int) func(network, address string, c syscall.RawConn) error {
	return func(string, string, syscall.RawConn) error { return errNoUDP }
}

func isMsgTrunc(flags int) bool { return false }

var (
	errnoAgain       = errors.New("EAGAIN")
	errnoConnRefused = errors.New("ECONNREFUSED")
	errnoMsgSize     = errors.New("EMSGSIZE")
)
