package xdp

import (
	"encoding/binary"
	"net/netip"

	"github.com/cilium/ebpf/asm"
)

// XDP verdicts and struct xdp_md field offsets used by the program.
const (
	xdpPass     = 2
	xdpRedirect = 4

	mdData         = 0
	mdDataEnd      = 4
	mdRxQueueIndex = 16
)

// xsksMapName is the symbol the program uses to reference its XSKMAP.
const xsksMapName = "xsks"

// Registers and labels of the steering program.
const (
	regCtx  = asm.R6 // saved context
	regData = asm.R2 // packet start, advanced past a VLAN tag and the IP header
	regEnd  = asm.R3 // data_end
	regTmp  = asm.R4
	regVal  = asm.R5

	ipOff = int16(ethHeaderLen) // IP header offset from regData

	lblPass      = "pass"
	lblVLAN      = "vlan"
	lblEtherType = "ethertype"
	lblIPv4      = "ipv4"
	lblIPv6      = "ipv6"
	lblUDP       = "udp"
)

// be16 returns the 16-bit value that loading the big-endian encoding of v
// from packet memory yields on this host, so comparisons need no byte swap
// at run time. Comparisons use JMP32, so no sign extension gets in the way.
func be16(v uint16) int32 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return int32(binary.NativeEndian.Uint16(b[:]))
}

// be32 is be16 for 4-byte fields (IP address words) given as bytes.
func be32(b []byte) int32 {
	return int32(binary.NativeEndian.Uint32(b))
}

// need emits a bounds check, labelled sym if not empty: pass the packet to
// the kernel unless data+n <= data_end. The verifier accepts a packet load
// only after such a check covers it.
func need(n int32, sym string) asm.Instructions {
	mov := asm.Mov.Reg(regTmp, regData)
	if sym != "" {
		mov = mov.WithSymbol(sym)
	}
	return asm.Instructions{
		mov,
		asm.Add.Imm(regTmp, n),
		asm.JGT.Reg(regTmp, regEnd, lblPass),
	}
}

// udpSteerInstructions builds the XDP program that sends matching UDP
// datagrams to the AF_XDP socket registered for the packet's RX queue and
// passes everything else to the kernel stack.
//
// A packet matches when it is Ethernet, optionally with one 802.1Q/802.1ad
// tag, then IPv4 (any IHL, not a fragment) or IPv6 (UDP directly after the
// fixed header: extension headers are not walked), then UDP with destination
// port port, and, if addr is valid and specified, destination address addr
// (0.0.0.0, :: and the zero Addr match any address of both families; a
// specific address also restricts the family). Port and address are
// immediates baked into the instructions when the program is built, which
// keeps the per-packet path free of map lookups; a different port means a
// different program.
//
// The redirect uses bpf_redirect_map with XDP_PASS in the flags, so a queue
// without a registered socket hands the packet to the kernel instead of
// dropping it. In a frags-aware program data..data_end is the first buffer,
// which always holds the headers.
func udpSteerInstructions(port uint16, addr netip.Addr) asm.Instructions {
	addr = addr.Unmap()
	if addr.IsUnspecified() {
		addr = netip.Addr{} // 0.0.0.0 and :: mean any address, as in bind(2)
	}
	insns := asm.Instructions{
		asm.Mov.Reg(regCtx, asm.R1),
		asm.LoadMem(regData, regCtx, mdData, asm.Word),
		asm.LoadMem(regEnd, regCtx, mdDataEnd, asm.Word),
	}
	insns = append(insns, need(ethHeaderLen, "")...)
	insns = append(insns,
		asm.LoadMem(regVal, regData, 12, asm.Half),
		asm.JEq.Imm32(regVal, be16(etherTypeVLAN), lblVLAN),
		asm.JEq.Imm32(regVal, be16(etherTypeQinQ), lblVLAN),
		asm.Ja.Label(lblEtherType),
	)
	// One tag: read the inner EtherType and move data by the tag size so
	// the rest of the program uses fixed offsets.
	insns = append(insns, need(ethHeaderLen+vlanTagLen, lblVLAN)...)
	insns = append(insns,
		asm.LoadMem(regVal, regData, 16, asm.Half),
		asm.Add.Imm(regData, vlanTagLen),
	)
	// Dispatch on the EtherType. A specific address restricts the family,
	// and the other family's block is left out altogether: the verifier
	// rejects unreachable code.
	var dispatch asm.Instructions
	if !addr.Is6() {
		dispatch = append(dispatch, asm.JEq.Imm32(regVal, be16(etherTypeIPv4), lblIPv4))
	}
	if !addr.Is4() {
		dispatch = append(dispatch, asm.JEq.Imm32(regVal, be16(etherTypeIPv6), lblIPv6))
	}
	dispatch = append(dispatch, asm.Ja.Label(lblPass))
	dispatch[0] = dispatch[0].WithSymbol(lblEtherType)
	insns = append(insns, dispatch...)

	if !addr.Is6() {
		insns = append(insns, ipv4Block(addr)...)
	}
	if !addr.Is4() {
		insns = append(insns, ipv6Block(addr)...)
	}
	return append(insns, udpBlock(port)...)
}

// ipv4Block checks version, protocol, fragmentation and the address, then
// moves data past the header (IHL words) and jumps to the UDP block.
func ipv4Block(addr netip.Addr) asm.Instructions {
	insns := need(int32(ipOff)+ipv4HeaderLen, lblIPv4)
	insns = append(insns,
		asm.LoadMem(regVal, regData, ipOff, asm.Byte), // version and IHL
		asm.Mov.Reg(regTmp, regVal),
		asm.And.Imm(regTmp, 0xf0),
		asm.JNE.Imm32(regTmp, 0x40, lblPass),
		asm.LoadMem(regTmp, regData, ipOff+9, asm.Byte), // protocol
		asm.JNE.Imm32(regTmp, protoUDP, lblPass),
		// Fragments go to the kernel, which can reassemble them.
		asm.LoadMem(regTmp, regData, ipOff+6, asm.Half),
		asm.And.Imm(regTmp, be16(ipv4FragMask)),
		asm.JNE.Imm32(regTmp, 0, lblPass),
	)
	if addr.Is4() {
		a := addr.As4()
		insns = append(insns,
			asm.LoadMem(regTmp, regData, ipOff+16, asm.Word),
			asm.JNE.Imm32(regTmp, be32(a[:]), lblPass),
		)
	}
	// IHL*4 is within [0, 60] after the mask and shift, which lets the
	// verifier bound the variable offset; IHL below 5 is malformed.
	return append(insns,
		asm.And.Imm(regVal, 0x0f),
		asm.LSh.Imm(regVal, 2),
		asm.JLT.Imm(regVal, ipv4HeaderLen, lblPass),
		asm.Add.Reg(regData, regVal),
		asm.Ja.Label(lblUDP),
	)
}

// ipv6Block checks version, next header and the address, then moves data
// past the fixed header and falls through to the UDP block.
func ipv6Block(addr netip.Addr) asm.Instructions {
	insns := need(int32(ipOff)+ipv6HeaderLen, lblIPv6)
	insns = append(insns,
		asm.LoadMem(regTmp, regData, ipOff, asm.Byte),
		asm.And.Imm(regTmp, 0xf0),
		asm.JNE.Imm32(regTmp, 0x60, lblPass),
		asm.LoadMem(regTmp, regData, ipOff+6, asm.Byte), // next header
		asm.JNE.Imm32(regTmp, protoUDP, lblPass),
	)
	if addr.Is6() {
		a := addr.As16()
		for i := int16(0); i < 4; i++ {
			insns = append(insns,
				asm.LoadMem(regTmp, regData, ipOff+24+4*i, asm.Word),
				asm.JNE.Imm32(regTmp, be32(a[4*i:4*i+4]), lblPass),
			)
		}
	}
	return append(insns, asm.Add.Imm(regData, ipv6HeaderLen))
}

// udpBlock checks the destination port and redirects. data has been moved by
// the IP header length, so the UDP header sits at ipOff for both families.
func udpBlock(port uint16) asm.Instructions {
	insns := need(int32(ipOff)+udpHeaderLen, lblUDP)
	return append(insns,
		asm.LoadMem(regTmp, regData, ipOff+2, asm.Half),
		asm.JNE.Imm32(regTmp, be16(port), lblPass),

		// return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS)
		asm.LoadMapPtr(asm.R1, 0).WithReference(xsksMapName),
		asm.LoadMem(asm.R2, regCtx, mdRxQueueIndex, asm.Word),
		asm.Mov.Imm(asm.R3, xdpPass),
		asm.FnRedirectMap.Call(),
		asm.Return(),

		asm.Mov.Imm(asm.R0, xdpPass).WithSymbol(lblPass),
		asm.Return(),
	)
}

// passInstructions is a program that hands every packet to the kernel. On a
// veth pair, attaching it to the peer enables the NAPI path that frames
// redirected or transmitted into that peer need.
func passInstructions() asm.Instructions {
	return asm.Instructions{
		asm.Mov.Imm(asm.R0, xdpPass),
		asm.Return(),
	}
}
