package srp_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
	"udpstream.dev/engine/prbs"
	"udpstream.dev/engine/srp"
	"udpstream.dev/engine/udprssi"
)

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// runControl is a device register bank: a write of N to address 0 sends N
// PRBS frames on the generator; everything else is plain memory.
type runControl struct {
	*memory.Emulate
	gen *prbs.Generator
}

func (r runControl) DoTransaction(tx *memory.Transaction) {
	n := 0
	if tx.Type.Writes() && tx.Address == 0 && len(tx.Data) == 4 {
		n = int(tx.Data[0]) // read before completing: after, the data is the host's
	}
	r.Emulate.DoTransaction(tx)
	if n > 0 {
		for range n {
			r.gen.GenFrame(1024)
		}
	}
}

// A readout as Rogue wires it: the host on udp.Client == RSSI ==
// packetizer, SRPv3 on tDest 0 and data on tDest 1; the device on
// udp.Server == RSSI == packetizer. The host writes and reads registers,
// then starts a PRBS stream through a run-control register and checks it.
func Example_readout() {
	// Device end: registers on tDest 0, a PRBS generator on tDest 1.
	dev, err := udprssi.NewServer(0, udprssi.Options{Packetizer: 2})
	check(err)
	gen, err := prbs.NewGenerator(32)
	check(err)
	engine.Connect(gen, dev.Application(1))
	device := srp.NewDevice(runControl{memory.NewEmulate(4, 4096), gen})
	engine.Connect(dev.Application(0), device)
	engine.Connect(device, dev.Application(0))

	// Host end: an SRPv3 host on tDest 0, a PRBS checker on tDest 1.
	link, err := udprssi.NewClient("127.0.0.1", dev.Port(), udprssi.Options{Packetizer: 2})
	check(err)
	host := srp.NewHost()
	engine.Connect(host, link.Application(0))
	engine.Connect(link.Application(0), host)
	chk, err := prbs.NewChecker(32)
	check(err)
	engine.Connect(link.Application(1), chk)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	check(link.WaitOpen(ctx))

	regs := memory.NewMaster(host)
	check(regs.Write(0x100, []byte{0xef, 0xbe, 0xad, 0xde}))
	v := make([]byte, 4)
	check(regs.Read(0x100, v))
	fmt.Printf("register 0x100 = %x\n", v)
	check(regs.Write(0, []byte{10, 0, 0, 0})) // run: 10 frames
	for chk.RxCount() < 10 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("frames", chk.RxCount(), "errors", chk.RxErrors())

	regs.Close()
	host.Close()
	link.Close()
	dev.Close()
	device.Close()
	gen.Close()
	// Output:
	// register 0x100 = efbeadde
	// frames 10 errors 0
}
