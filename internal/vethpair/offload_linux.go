package vethpair

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Offloads to switch off to make a veth behave like a wire.
const (
	// TxChecksum: with it on, a veth passes UDP checksums uncomputed
	// (CHECKSUM_PARTIAL) to its peer, so frames seen by XDP carry only the
	// pseudo-header sum.
	TxChecksum Offload = unix.ETHTOOL_STXCSUM
	// RxChecksum: with it on, a veth marks frames without a checksum as
	// verified, so the stack would accept a wrong one.
	RxChecksum Offload = unix.ETHTOOL_SRXCSUM
)

// SetOffload switches an offload on the side's interface.
func (s *Side) SetOffload(o Offload, on bool) error {
	return s.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		val := struct{ cmd, data uint32 }{uint32(o), 0}
		if on {
			val.data = 1
		}
		var ifr struct {
			name [unix.IFNAMSIZ]byte
			data unsafe.Pointer
			_    [16]byte
		}
		copy(ifr.name[:], s.Link)
		ifr.data = unsafe.Pointer(&val)
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
		runtime.KeepAlive(&val)
		if e != 0 {
			return fmt.Errorf("vethpair: ethtool %#x on %s: %w", uint32(o), s.Link, e)
		}
		return nil
	})
}
