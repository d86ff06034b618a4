package packetizer

import "udpstream.dev/engine"

// sendFrame splits f into segments for the transport side.
func (p *Packetizer) sendFrame(dest uint8, f engine.Frame) {
	p.txMu.Lock()
	defer p.txMu.Unlock()
	size := f.Payload()
	per := DataPerSegment(p.opts.Version, p.room())
	segs := 0
	if per > 0 {
		segs = (size + per - 1) / per
	}
	// v1 numbers segments in 24 bits; v2's 16-bit number wraps, as Rogue's
	// receiver expects.
	if size < 1 || segs == 0 || p.opts.Version == 1 && segs > 1<<24 {
		p.fail(f)
		return
	}
	var crc uint32
	for i := range segs {
		off := i * per
		n := min(per, size-off)
		ok := false
		if p.opts.Version == 1 {
			ok = p.sendV1(dest, f, i, off, n, i == segs-1)
		} else {
			ok = p.sendV2(dest, f, i, off, n, i == segs-1, &crc)
		}
		if !ok {
			p.fail(f)
			return
		}
	}
	if p.opts.Version == 1 {
		p.index = (p.index + 1) & 0xfff
	}
	p.st.txFrames.Add(1)
}

func (p *Packetizer) fail(f engine.Frame) {
	p.st.txErrors.Add(1)
	f.SetError(TxErrorCode)
}

// segment allocates a transport frame of n bytes with one buffer.
func (p *Packetizer) segment(n int) (engine.Frame, []byte, bool) {
	s, err := p.tr.ReqFrame(n, true)
	if err != nil {
		return s, nil, false
	}
	mem, err := s.Memory()
	if err != nil || len(mem) < n {
		s.Release()
		return engine.Frame{}, nil, false
	}
	return s, mem[:n], true
}

// emit sends a filled segment and reports whether the transport took it.
func (p *Packetizer) emit(s engine.Frame, n int) bool {
	defer s.Release()
	if s.SetPayload(n) != nil || p.tr.SendFrame(s) != nil || s.Error() != 0 {
		return false
	}
	p.st.txSegments.Add(1)
	return true
}

func (p *Packetizer) firstUser(f engine.Frame) uint8 {
	fu := f.FirstUser()
	if p.opts.SSI {
		fu |= SSISOF
	}
	return fu
}

func (p *Packetizer) lastUser(f engine.Frame, last bool) uint8 {
	lu := f.LastUser()
	if p.opts.SSI && last && f.Error() != 0 {
		lu |= SSIEOFE
	}
	return lu
}

func (p *Packetizer) sendV1(dest uint8, f engine.Frame, i, off, n int, last bool) bool {
	total := V1HeaderSize + n + V1TailSize
	s, mem, ok := p.segment(total)
	if !ok {
		return false
	}
	if _, err := f.ReadAt(mem[V1HeaderSize:V1HeaderSize+n], int64(off)); err != nil {
		s.Release()
		return false
	}
	PutV1(mem, &V1Header{FrameIndex: p.index, Segment: uint32(i), TDest: dest,
		FirstUser: p.firstUser(f), EOF: last, LastUser: p.lastUser(f, last)})
	return p.emit(s, total)
}

func (p *Packetizer) sendV2(dest uint8, f engine.Frame, i, off, n int, last bool, crc *uint32) bool {
	total := V2Size(n)
	s, mem, ok := p.segment(total)
	if !ok {
		return false
	}
	data := mem[V2HeaderSize : total-V2TailSize]
	if _, err := f.ReadAt(data[:n], int64(off)); err != nil {
		s.Release()
		return false
	}
	clear(data[n:]) // pad (Rogue leaves stale bytes; the CRC covers them either way)
	h := V2Header{CRCOn: p.opts.OutboundCRC, FirstUser: p.firstUser(f), TDest: dest, Segment: uint16(i),
		SOF: i == 0, LastUser: p.lastUser(f, last), EOF: last, Last: uint8(8 - (len(data) - n))}
	if i == 0 {
		*crc = 0
	}
	*crc = PutV2(mem, &h, *crc)
	return p.emit(s, total)
}
