package fileio_test

import (
	"fmt"
	"os"
	"path/filepath"

	"udpstream.dev/engine"
	"udpstream.dev/engine/fileio"
)

// printer is a Slave that prints what it accepts.
type printer struct{}

func (printer) AcceptFrame(f engine.Frame) {
	fmt.Printf("channel %d, error %d, flags %#04x: %d bytes\n", f.Channel(), f.Error(), f.Flags(), f.Payload())
}

// Record two frames through channel objects 0 and 7, then replay the file.
func Example() {
	dir, _ := os.MkdirTemp("", "fileio-example")
	defer os.RemoveAll(dir)
	name := filepath.Join(dir, "run.dat")

	w := fileio.NewStreamWriter()
	if err := w.Open(name); err != nil {
		fmt.Println(err)
		return
	}
	pool := engine.NewPool()
	for i, slave := range []engine.Slave{w, w.Channel(7)} {
		f, _ := pool.AcceptReq(100, true)
		f.SetPayload(100 * (i + 1) / 2)
		f.SetChannel(3)
		f.SetFlags(0x0102)
		slave.AcceptFrame(f)
		f.Release()
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}

	r := fileio.NewStreamReader()
	engine.Connect(r, printer{})
	if err := r.Open(name); err != nil {
		fmt.Println(err)
		return
	}
	if err := r.CloseWait(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// channel 3, error 0, flags 0x0102: 50 bytes
	// channel 7, error 0, flags 0x0102: 100 bytes
}
