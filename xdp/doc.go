// Package xdp receives and sends UDP datagrams through AF_XDP sockets,
// moving Ethernet frames between the kernel and a UMEM region the caller
// owns. It knows nothing of frames in the stream sense: it hands out
// descriptors (UMEM offset and length), parsed headers and payload offsets,
// and takes descriptors back. Callers build their buffer management on top,
// typically by making the UMEM their slab so received payloads are used where
// the kernel put them.
//
// # Data path
//
// The caller maps the UMEM with MapUMEM (or any page-aligned mapping), splits
// it into chunks of 2048 or 4096 bytes and opens a Socket on an interface
// queue. Open registers the UMEM (XDP_UMEM_REG), sizes and maps the fill,
// completion, RX and TX rings, attaches the steering program, binds with
// XDP_USE_NEED_WAKEUP and registers the socket in the program's XSKMAP.
//
// Receiving: Fill gives chunk addresses to the kernel; ReceiveWait
// returns descriptors of received frames, whose chunks then belong to the
// caller until given back with Fill. Parse (or ParseFrags) locates the UDP
// payload inside the frame.
//
// Sending: the caller writes a payload into a chunk, BuildUDPHeaders writes
// Ethernet, IP and UDP headers into the bytes just before it (no copy of the
// payload), Transmit queues the descriptor and Complete later returns the
// address once the kernel is done with it. A received frame can be answered
// in place: the reply headers overwrite the request headers in front of the
// payload.
//
// Every ring operation works on a batch: one reservation or peek, the
// entries, and one atomic index update. The index the kernel writes is read
// (acquire) only when the locally cached copy shows too little room or data.
// The kernel is woken (sendto for TX, recvfrom for the fill ring) only when it
// sets XDP_RING_NEED_WAKEUP on the ring, which it always does for TX in copy
// mode. In steady state no call allocates.
//
// ReceiveWait parks in the Go netpoller: AF_XDP descriptors are pollable and
// the kernel signals readability whenever it publishes RX entries, so an idle
// receiver costs nothing and Close wakes it. SetReadDeadline bounds the wait.
//
// # Ownership of chunks
//
// Every chunk is at any time either the caller's, on the fill ring or in
// the kernel's hands for receive, or queued for transmit until Complete
// returns it. Close unmaps the rings but never the UMEM; chunks the kernel
// held are simply the caller's again. The kernel publishes how far it has
// read the fill ring lazily, so size the fill ring at least twice the number
// of chunks handed to it, or keep what Fill could not place for later.
//
// # Modes
//
// ModeAuto tries, in order: the program in the driver with zero-copy
// (ModeNativeZeroCopy), the program in the driver with the kernel copying
// frames into the UMEM (ModeNativeCopy), and the generic hook after skb
// allocation with copy (ModeGenericCopy). Socket.Mode reports what was
// granted.
//
// Multi-buffer: when the interface MTU does not fit in a chunk (after the
// kernel's 256 bytes of XDP headroom and the configured headroom), Open loads
// the program frags-aware (BPF_F_XDP_HAS_FRAGS) and binds with XDP_USE_SG.
// A packet then arrives as consecutive descriptors, all but the last with
// OptContinued set; ReceiveWait only ever returns whole packets and NextPacket
// splits a batch into them. Transmit accepts such chains too.
//
// # The steering program
//
// The XDP program is assembled in Go (cilium/ebpf asm); no C compiler is
// involved. It redirects to the XSKMAP entry of the packet's RX queue every
// frame that is Ethernet, with at most one 802.1Q or 802.1ad tag, carrying
// IPv4 (any header length, not a fragment) or IPv6 (UDP right after the
// fixed header: extension headers are not walked) and UDP to the configured
// port, and, if configured, to the configured destination address.
// Everything else (ARP, ICMP, neighbour discovery, other ports, IPv4
// fragments, which the kernel can reassemble) goes to the kernel stack, and
// so does a matching frame for a queue with no socket: the redirect uses
// XDP_PASS as its fallback action. Port and address are immediates baked
// into the instructions when the program is built; there is no config map.
// The program is attached with a BPF link, so it is detached by Close and
// when the process dies; kernels without XDP links get a netlink attach that
// Close undoes. Nothing is pinned in bpffs.
//
// A socket only sees the packets of the RX queue it is bound to, and Open
// attaches a steering program of its own to the interface, so there is one
// socket per interface: on a multi-queue interface steer the stream to one
// queue (ethtool flow rules on a NIC; a veth created with one queue).
// Sharing one program between the sockets of several queues is kept
// inside the package (its tests use it). A queue is released by the kernel
// asynchronously after its socket closes; Open retries a busy queue for
// up to a second before giving up with EBUSY.
//
// # Network namespaces
//
// Open, NeighborMAC, ResolveNeighbor and RouteTo
// act in the calling thread's network namespace. To use an interface in another namespace, call them on
// a goroutine locked to a thread that has entered it; the socket stays in
// that namespace and may then be used from any goroutine.
//
// # Concurrency
//
// The receive side (Fill, ReceiveWait) and the transmit side
// (Transmit, Complete) are each single-goroutine, as the rings are
// single-producer single-consumer; the two sides may run on different
// goroutines. Close, Stats and the accessors may be called at any time.
//
// # Veth
//
// Veth pairs are what tests and benchmarks use; real NICs behave
// differently, and zero-copy needs driver support veth does not have.
// Rates measured over veth are in docs/measurements.md.
//   - Binding with XDP_ZEROCOPY fails with EOPNOTSUPP (native and generic);
//     ModeAuto therefore ends in native copy mode.
//   - Attaching XDP to a veth turns off GSO on its peer, so the sender
//     segments in software, and the sending CPU (which also runs the veth
//     receive path, the program and the copy into the UMEM) is the limit.
//     Generic mode drops GSO super-packets larger than a chunk. Copy-mode
//     transmit is no faster than sendmmsg: AF_XDP pays off with zero-copy
//     drivers.
//   - With MTU 9000 the native attach fails with ERANGE ("Peer MTU is too
//     large to set XDP") unless the program is frags-aware; Open handles it
//     as described above, and an 8972-byte datagram arrives as three
//     descriptors with 4 KiB chunks.
//   - Frames that XDP redirects or transmits (XDP_TX, devmap) into a veth are
//     only delivered when the peer also runs an XDP program; the package's
//     tests attach a neutral one (XDP_PASS) there. AF_XDP copy-mode TX builds ordinary skbs and
//     does not need it.
//   - A veth gets one queue per CPU by default and a flow lands on the
//     queue its hash picks, so a socket on queue 0 may see nothing; tests
//     create their veth pairs with one queue.
//   - Right after a link comes up the kernel still drops everything it
//     transmits until its link-watch work has attached the queueing
//     discipline; tests wait for that before sending.
//   - A veth whose peer has TX checksum offload on passes UDP checksums
//     uncomputed; such frames fail Parse with ErrUDPChecksum unless
//     AcceptPartialUDPChecksum is given (or the peer's offload is turned off).
package xdp
