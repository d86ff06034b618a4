package mmsg

import "errors"

var (
	// errGSOUnsupported reports that the kernel or the output device
	// refused UDP segmentation offload (UDP_SEGMENT). It wraps the errno
	// the kernel returned. A Conn that meets it turns GSO off (see
	// GSOEnabled) and sends the affected messages as separate datagrams:
	// the fallback is decided here, once, for every caller. Only a
	// fallback disabled by the tests returns it.
	errGSOUnsupported = errors.New("mmsg: UDP GSO not supported")

	// ErrUnsupported is returned on platforms without recvmmsg/sendmmsg.
	ErrUnsupported = errors.New("mmsg: batched UDP I/O is only supported on Linux")
)

// errNilMessage is returned by WriteOne and TryWriteOne when given no
// message.
var errNilMessage = errors.New("mmsg: nil *Message")
