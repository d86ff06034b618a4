package srp

import (
	"errors"
	"fmt"
)

// Transaction error classes of the host side (memory.TxError.Err); the
// texts are Rogue's.
var (
	// ErrProtocol: the response header does not echo the request.
	ErrProtocol = errors.New("srp: response header does not match the request")
	// ErrSizeMismatch: the response length is not 24 + size.
	ErrSizeMismatch = errors.New("srp: response size mismatch")
	// ErrBus is the class of every nonzero footer.
	ErrBus = errors.New("srp: register bus error")
	// ErrBusTimeout, ErrBusLockup and ErrBusStatus are footer bit 8,
	// bit 13 (wins over bit 8), and any other nonzero status.
	ErrBusTimeout = fmt.Errorf("%w: timeout", ErrBus)
	ErrBusLockup  = fmt.Errorf("%w: lockup", ErrBus)
	ErrBusStatus  = fmt.Errorf("%w: nonzero status", ErrBus)
	// ErrSend: no request frame could be had or sent.
	ErrSend = errors.New("srp: request could not be sent")
)

// footerError maps a nonzero footer to Rogue's error class and text.
func footerError(footer uint32) (error, string) {
	switch {
	case footer&StatusBusLockup != 0:
		return ErrBusLockup, "FPGA register bus lockup detected in hardware. Power cycle required."
	case footer&StatusBusTimeout != 0:
		return ErrBusTimeout, "FPGA register bus timeout detected in hardware"
	}
	return ErrBusStatus, fmt.Sprintf("Non zero status message returned on fpga register bus in hardware: 0x%x", footer)
}
