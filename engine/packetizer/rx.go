package packetizer

import "udpstream.dev/engine"

// receive handles one segment from the transport side.
func (p *Packetizer) receive(s engine.Frame) {
	b, err := s.Bytes()
	p.rxMu.Lock()
	defer p.rxMu.Unlock()
	if err != nil || s.Error() != 0 {
		p.st.bad.Add(1)
		return
	}
	if p.opts.Version == 1 {
		p.receiveV1(b)
	} else {
		p.receiveV2(b)
	}
}

func (p *Packetizer) receiveV1(b []byte) {
	var h V1Header
	data, err := ParseV1(b, &h)
	if err != nil {
		p.st.bad.Add(1)
		return
	}
	p.st.rxSegments.Add(1)
	r := &p.rx[0]
	switch {
	case h.Segment == 0:
		p.begin(r, h.TDest, h.FrameIndex, h.FirstUser)
	case r.skip && h.FrameIndex == r.index && h.TDest == r.dest:
		r.skip = !h.EOF // the rest of an oversize frame
		return
	case !r.active || h.FrameIndex != r.index || h.Segment != r.next || h.TDest != r.dest:
		p.gap(r)
		return
	}
	p.take(r, data, h.EOF, h.LastUser)
}

func (p *Packetizer) receiveV2(b []byte) {
	var h V2Header
	data, err := ParseV2(b, &h)
	if err != nil {
		p.st.bad.Add(1)
		return
	}
	p.st.rxSegments.Add(1)
	r := &p.rx[h.TDest]
	if p.opts.InboundCRC {
		prev := r.crc
		if h.SOF {
			prev = 0
		}
		crc, err := CheckV2CRC(b, prev)
		if err != nil {
			p.st.crc.Add(1)
			r.active = false
			return
		}
		r.crc = crc
	}
	switch {
	case h.SOF && h.Segment == 0:
		p.begin(r, h.TDest, 0, h.FirstUser)
	case r.skip && !h.SOF:
		r.skip = !h.EOF // the rest of an oversize frame
		return
	case h.SOF || !r.active || uint16(r.next) != h.Segment:
		p.gap(r)
		return
	}
	p.take(r, data, h.EOF, h.LastUser)
}

// begin starts a frame in r (v1 index; 0 for v2), counting the unfinished
// frame it replaces.
func (p *Packetizer) begin(r *reasm, dest uint8, index uint16, firstUser uint8) {
	if r.active {
		p.st.missingEOF.Add(1)
	}
	r.active, r.skip, r.dest, r.index, r.next, r.firstUser, r.buf = true, false, dest, index, 0, firstUser, r.buf[:0]
}

// gap drops a segment out of sequence and the partial frame in r.
func (p *Packetizer) gap(r *reasm) {
	p.st.seq.Add(1)
	r.active = false
}

// take appends the data of the segment r expects and delivers the frame
// at its EOF. A frame that would exceed MaxFrame is dropped and its buffer
// freed; its later segments are skipped up to its EOF.
func (p *Packetizer) take(r *reasm, data []byte, eof bool, lastUser uint8) {
	if len(r.buf)+len(data) > p.opts.MaxFrame {
		p.st.oversize.Add(1)
		r.active, r.skip, r.buf = false, !eof, nil
		return
	}
	r.buf = append(r.buf, data...)
	r.next++
	if eof {
		r.active = false
		p.deliver(r, lastUser)
	}
}

// deliver hands a reassembled frame to its port's slaves. Called with
// rxMu held: frames of one packetizer reach the application in order.
func (p *Packetizer) deliver(r *reasm, lastUser uint8) {
	pt := &p.ports[r.dest]
	if pt.SlaveCount() == 0 {
		p.st.noReceiver.Add(1)
		return
	}
	f, err := pt.ReqFrame(len(r.buf), true)
	if err != nil {
		p.st.rxErrors.Add(1)
		return
	}
	defer f.Release()
	if _, err := f.WriteAt(r.buf, 0); err != nil {
		p.st.rxErrors.Add(1)
		return
	}
	f.SetFirstUser(r.firstUser)
	f.SetLastUser(lastUser)
	f.SetChannel(r.dest)
	if p.opts.SSI && lastUser&SSIEOFE != 0 {
		f.SetError(ErrorEOFE)
		p.st.eofe.Add(1)
	}
	p.st.rxFrames.Add(1)
	pt.SendFrame(f)
}
