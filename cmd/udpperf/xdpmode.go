package main

import (
	"flag"
	"fmt"
	"strings"

	"udpstream.dev/xdp"
)

// xdpModeFlags choose the AF_XDP data path: where the XDP program runs
// (--xdp-mode) and whether frames are copied (--zero-copy, --copy).
type xdpModeFlags struct {
	mode     *string
	zeroCopy *bool
	copy     *bool
}

func addXDPModeFlags(fs *flag.FlagSet) xdpModeFlags {
	return xdpModeFlags{
		mode:     fs.String("xdp-mode", "auto", "AF_XDP hook for --transport xdp: auto (native zero-copy, native copy, generic, the first that works), native (in the driver) or generic (after the kernel built the packet)"),
		zeroCopy: fs.Bool("zero-copy", false, "AF_XDP zero-copy (native only; fail rather than copy)"),
		copy:     fs.Bool("copy", false, "AF_XDP copy mode (with --xdp-mode native or generic)"),
	}
}

// xdpModeNames are the flags xdpModeFlags add, which apply to the xdp
// transport only.
var xdpModeNames = []string{"xdp-mode", "zero-copy", "copy"}

// resolve maps the flags onto the engine's mode, refusing combinations
// the kernel has no mode for and flags given without the xdp transport.
// Native without --zero-copy or --copy is refused too: the engine binds
// exactly the mode asked for, so it cannot try one and fall back.
func (m xdpModeFlags) resolve(fs *flag.FlagSet, transports string) (xdp.Mode, error) {
	for _, n := range xdpModeNames {
		if isSet(fs, n) && !strings.Contains(strings.ToLower(transports), "xdp") {
			return 0, usageError{fmt.Sprintf("--%s applies to --transport xdp only", n)}
		}
	}
	zc, cp := *m.zeroCopy, *m.copy
	if zc && cp {
		return 0, usageError{"--zero-copy and --copy exclude each other"}
	}
	switch strings.ToLower(strings.TrimSpace(*m.mode)) {
	case "auto":
		switch {
		case zc:
			return xdp.ModeNativeZeroCopy, nil // zero-copy exists only in the driver
		case cp:
			return 0, usageError{"--copy needs --xdp-mode native or generic (auto already falls back to copying)"}
		}
		return xdp.ModeAuto, nil
	case "native":
		switch {
		case zc:
			return xdp.ModeNativeZeroCopy, nil
		case cp:
			return xdp.ModeNativeCopy, nil
		}
		return 0, usageError{"--xdp-mode native needs --zero-copy or --copy (or use --xdp-mode auto, which tries both)"}
	case "generic":
		if zc {
			return 0, usageError{"--xdp-mode generic copies every frame: --zero-copy needs --xdp-mode native"}
		}
		return xdp.ModeGenericCopy, nil
	}
	return 0, usageError{fmt.Sprintf("unknown --xdp-mode %q (want auto, native or generic)", *m.mode)}
}
