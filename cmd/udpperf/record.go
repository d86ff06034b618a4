package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"

	"udpstream.dev/engine/fileio"
)

// recordFlags are udpperf server's --record and --record-max-size.
type recordFlags struct {
	path    *string
	maxSize *int64
}

func addRecordFlags(fs *flag.FlagSet) recordFlags {
	return recordFlags{
		path:    fs.String("record", "", "write every received datagram to this file in Rogue's data file format (a frame per datagram, channel 0)"),
		maxSize: fs.Int64("record-max-size", 0, "with --record: split the recording into FILE.1, FILE.2, ... of at most this many bytes each, as Rogue's StreamWriter.setMaxSize does (0 = one file)"),
	}
}

// open checks the flags and, with --record, opens the writer; it returns
// nil without --record. Write failures are logged to stderr.
func (r recordFlags) open(stderr io.Writer) (*fileio.StreamWriter, error) {
	if *r.maxSize < 0 {
		return nil, usageError{fmt.Sprintf("--record-max-size %d is negative", *r.maxSize)}
	}
	if *r.path == "" {
		if *r.maxSize > 0 {
			return nil, usageError{"--record-max-size needs --record"}
		}
		return nil, nil
	}
	w := fileio.NewStreamWriter()
	w.SetLogger(slog.New(slog.NewTextHandler(stderr, nil)))
	if err := w.SetMaxSize(*r.maxSize); err != nil {
		return nil, usageError{err.Error()}
	}
	if err := w.Open(*r.path); err != nil {
		return nil, err
	}
	return w, nil
}

// finish closes the writer and says what was recorded; an error means
// datagrams were not recorded.
func (r recordFlags) finish(w *fileio.StreamWriter, p *printer) error {
	if w == nil {
		return nil
	}
	err := w.Close()
	s := w.Stats()
	where := *r.path
	if *r.maxSize > 0 {
		where = fmt.Sprintf("%s (%d files)", fileio.SplitName(*r.path, 1), s.Files)
	}
	p.printf("recorded %d datagrams (%d bytes) to %s\n", s.Records, s.Bytes, where)
	if err != nil {
		return fmt.Errorf("recording to %s: %d datagrams not recorded: %w", *r.path, s.Lost(), err)
	}
	return nil
}
