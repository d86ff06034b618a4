package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"sort"

	"udpstream.dev/engine"
	"udpstream.dev/engine/fileio"
)

const fileAbout = `
Reads a data file in Rogue's format (rogue.utilities.fileio StreamWriter, or
udpperf server --record) and prints a summary: records, payload bytes, and
per channel the records, bytes and records whose error field is set. A name
ending in .1 is read with the rest of its split set (.2, .3, ...).

With --json it prints instead one JSON object per record, one per line,
with the keys index, size, channel, flags, error, first_user, last_user and
crc32 (CRC-32/IEEE of the payload, lower-case hex).

A file that is cut or corrupt is read up to the damaged record; then the
byte offset where it breaks is reported and the exit status is 1.

examples:
  udpperf file run.dat
  udpperf file run.dat.1 --json
  udpperf file raw.dat --raw 1472   # a raw-mode file, as 1472-byte frames`

// fileRecord is one line of udpperf file --json.
type fileRecord struct {
	Index     uint64 `json:"index"`
	Size      int    `json:"size"`
	Channel   uint8  `json:"channel"`
	Flags     uint16 `json:"flags"`
	Error     uint8  `json:"error"`
	FirstUser uint8  `json:"first_user"`
	LastUser  uint8  `json:"last_user"`
	CRC32     string `json:"crc32"`
}

// channelSummary totals one channel of a file.
type channelSummary struct {
	records, bytes, errored uint64
}

// fileSink is the Slave udpperf file reads into.
type fileSink struct {
	index    uint64
	channels map[uint8]*channelSummary
	enc      *json.Encoder // nil: summary only
	segs     [][]byte
	err      error // first error writing the JSON lines
}

// AcceptFrame counts f and, with --json, prints its line.
func (s *fileSink) AcceptFrame(f engine.Frame) {
	c := s.channels[f.Channel()]
	if c == nil {
		c = &channelSummary{}
		s.channels[f.Channel()] = c
	}
	c.records++
	c.bytes += uint64(f.Payload())
	if f.Error() != 0 {
		c.errored++
	}
	if s.enc != nil && s.err == nil {
		s.err = s.enc.Encode(s.record(f))
	}
	s.index++
}

func (s *fileSink) record(f engine.Frame) fileRecord {
	var crc uint32
	s.segs, _ = f.AppendBuffers(s.segs[:0])
	for _, b := range s.segs {
		crc = crc32.Update(crc, crc32.IEEETable, b)
	}
	return fileRecord{
		Index: s.index, Size: f.Payload(), Channel: f.Channel(), Flags: f.Flags(), Error: f.Error(),
		FirstUser: f.FirstUser(), LastUser: f.LastUser(), CRC32: fmt.Sprintf("%08x", crc),
	}
}

func runFile(_ context.Context, e env, args []string) error {
	fs := newFlagSet("file", "FILE [flags]", fileAbout, e.stdout)
	jsonOut := fs.Bool("json", false, "print one JSON object per record instead of the summary")
	raw := fs.Int("raw", 0, "read a raw-mode file (payloads only) as frames of this many bytes")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"want one file name (see udpperf file --help)"}
	}
	if *raw < 0 {
		return usageError{fmt.Sprintf("--raw %d is negative", *raw)}
	}
	out := bufio.NewWriter(e.stdout)
	sink := &fileSink{channels: map[uint8]*channelSummary{}}
	if *jsonOut {
		sink.enc = json.NewEncoder(out)
	}
	r := fileio.NewStreamReader()
	r.SetRawFrameSize(*raw)
	engine.Connect(r, sink)
	if err := r.Open(pos[0]); err != nil {
		return err
	}
	readErr := r.CloseWait()
	if !*jsonOut {
		printFileSummary(out, pos[0], r.Stats(), sink)
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if sink.err != nil {
		return sink.err
	}
	return readErr
}

func printFileSummary(w io.Writer, name string, st fileio.ReaderStats, s *fileSink) {
	fmt.Fprintf(w, "%s: %d records, %d payload bytes, %d file(s)\n", name, st.Frames, st.Bytes, st.Files)
	chans := make([]int, 0, len(s.channels))
	var errored uint64
	for ch, c := range s.channels {
		chans = append(chans, int(ch))
		errored += c.errored
	}
	sort.Ints(chans)
	for _, ch := range chans {
		c := s.channels[uint8(ch)]
		fmt.Fprintf(w, "  channel %3d: %d records, %d bytes, %d with an error\n", ch, c.records, c.bytes, c.errored)
	}
	fmt.Fprintf(w, "records with an error: %d\n", errored)
	if st.Empty > 0 {
		fmt.Fprintf(w, "header-only records skipped: %d\n", st.Empty)
	}
}
