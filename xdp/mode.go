package xdp

import "strconv"

// Mode is the data path a socket ended up with: where the XDP program runs
// (in the driver or on the generic skb path) and whether frames are DMAed
// straight into the UMEM or copied there by the kernel.
type Mode uint8

// Modes, in the order Open tries them when Config.Mode is ModeAuto.
const (
	// ModeAuto asks Open to pick the fastest mode that works.
	ModeAuto Mode = iota
	// ModeNativeZeroCopy runs the program in the driver and lets the NIC
	// write into the UMEM (XDP_FLAGS_DRV_MODE + XDP_ZEROCOPY).
	ModeNativeZeroCopy
	// ModeNativeCopy runs the program in the driver; the kernel copies
	// each frame into the UMEM (XDP_FLAGS_DRV_MODE + XDP_COPY).
	ModeNativeCopy
	// ModeGenericCopy runs the program after the skb is built
	// (XDP_FLAGS_SKB_MODE + XDP_COPY); works on any interface, slowest.
	ModeGenericCopy
)

// String names the mode for logs and reports.
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeNativeZeroCopy:
		return "native-zerocopy"
	case ModeNativeCopy:
		return "native-copy"
	case ModeGenericCopy:
		return "generic-copy"
	}
	return "mode(" + strconv.Itoa(int(m)) + ")"
}

// native reports whether the program runs in the driver.
func (m Mode) native() bool { return m == ModeNativeZeroCopy || m == ModeNativeCopy }

// zeroCopy reports whether frames land in the UMEM without a copy.
func (m Mode) zeroCopy() bool { return m == ModeNativeZeroCopy }
