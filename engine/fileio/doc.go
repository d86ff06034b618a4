// Package fileio writes and reads the data files of SLAC Rogue's
// rogue.utilities.fileio: a [StreamWriter] is a Slave that stores every
// frame it accepts, a [StreamReader] is a Master that replays a file as
// frames. Files written here read back in Rogue's StreamReader, and Rogue's
// files read back here, with the same sizes, channels, flags, errors and
// payloads.
//
// # Format
//
// A file is records laid end to end, with no file header or trailer; an
// empty file holds no records. A record in the default (framed) mode is
//
//	offset 0  uint32 LE  payload length + 4 (it counts the next word)
//	offset 4  uint32 LE  channel<<24 | error<<16 | flags
//	offset 8  N bytes    the payload: the frame's buffers in order
//
// so bytes 4..7 are firstUser, lastUser, error and channel. In raw mode
// only the payloads are written, back to back: frame boundaries and
// metadata are lost, and reading such a file back needs a frame size
// ([StreamReader.SetRawFrameSize]).
//
// With a size limit ([StreamWriter.SetMaxSize]) the files are name.1,
// name.2, ...; a record never spans two files and no file exceeds the
// limit. A reader given a name ending in ".1" continues with ".2", ".3",
// ... until the next file does not exist.
//
// # Where this package differs from Rogue
//
//   - Open truncates an existing file (every file of a split set), so no
//     stale tail of an older, longer file follows the new records.
//   - Writes are always staged in a bounded buffer (default
//     [DefaultBufferSize]); a write error is counted, logged through the
//     logger given to SetLogger (none by default), and returned by Flush
//     and Close, instead of closing the file with a log line.
//   - Frames the writer does not store (empty ones, errored ones with
//     SetDropErrors, those arriving with no file open, those larger than
//     the size limit, those lost to a write error) are counted in
//     [WriterStats].
//   - The reader checks each record against the bytes left in the file: a
//     cut or corrupt file ends with a [*FormatError] naming the byte offset
//     of the damaged record, after every frame before it was delivered. It
//     never delivers a partial frame and, reading a regular file, never
//     asks a pool for more bytes than the file holds.
package fileio
