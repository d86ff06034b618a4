package prbs_test

import (
	"encoding/binary"
	"fmt"

	"udpstream.dev/engine"
	"udpstream.dev/engine/prbs"
)

// Frame 1 of 16 bytes: the sequence, the size in words minus one, then
// LFSR words seeded by the sequence.
func ExampleFill() {
	b := make([]byte, 16)
	if err := prbs.Fill(b, 1, 32); err != nil {
		fmt.Println(err)
		return
	}
	for i := 0; i < len(b); i += 4 {
		fmt.Printf("%#x ", binary.LittleEndian.Uint32(b[i:]))
	}
	fmt.Println()
	// Output:
	// 0x1 0x3 0x2 0x5
}

func ExampleVerify() {
	b := make([]byte, 1472)
	prbs.Fill(b, 7, 64)
	seq, err := prbs.Verify(b, 64)
	fmt.Println(seq, err)

	b[1000] ^= 0x10
	_, err = prbs.Verify(b, 64)
	fmt.Println(err)
	// Output:
	// 7 <nil>
	// prbs: payload mismatch: word 125 is 0x3a030ebd967ff3c5, want 0x3a030ebd967ff3d5
}

// A Generator is a Master and a Checker a Slave: connect them directly, or
// through anything that carries frames.
func ExampleChecker() {
	gen, _ := prbs.NewGenerator(prbs.DefaultWidth)
	check, _ := prbs.NewChecker(prbs.DefaultWidth)
	engine.Connect(gen, check)
	for range 10 {
		gen.GenFrame(1024)
	}
	gen.SetSequence(12) // skip two frames
	gen.GenFrame(1024)
	st := check.Stats()
	fmt.Printf("frames %d, bytes %d, sequence errors %d\n", st.Frames, st.Bytes, st.SeqErrors)
	fmt.Println(check.FirstError())
	// Output:
	// frames 10, bytes 10240, sequence errors 1
	// prbs: sequence 12, expected 10
}

// Both ends must use the same taps: a checker with the default taps
// rejects the frame.
func ExampleGenerator_SetTaps() {
	gen, _ := prbs.NewGenerator(64)
	check, _ := prbs.NewChecker(64)
	other, _ := prbs.NewChecker(64)
	taps := []int{1, 2, 6, 63}
	if err := gen.SetTaps(taps); err != nil {
		fmt.Println(err)
		return
	}
	check.SetTaps(taps)
	engine.Connect(gen, check)
	engine.Connect(gen, other)
	gen.SetSequence(0x80000000)
	gen.GenFrame(1024)
	fmt.Println(check.RxCount(), check.RxErrors(), other.RxErrors())
	fmt.Println(gen.SetTaps([]int{1, 64}))
	// Output:
	// 1 0 1
	// prbs: bad taps: tap 64 is not a bit of a 64-bit word
}
