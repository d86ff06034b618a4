package bench_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"udpstream.dev/bench"
	"udpstream.dev/bench/report"
	"udpstream.dev/engine/udp"
)

func ExampleParseRate() {
	for _, s := range []string{"0", "2.5G", "500Mbit/s", "100kpps"} {
		r, err := report.ParseRate(s)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-10s -> %-12s %.0f datagrams/s of 1250 bytes\n", s, r, r.PerSecond(1250))
	}
	// Output:
	// 0          -> max          0 datagrams/s of 1250 bytes
	// 2.5G       -> 2.5Gbit/s    250000 datagrams/s of 1250 bytes
	// 500Mbit/s  -> 500Mbit/s    50000 datagrams/s of 1250 bytes
	// 100kpps    -> 100kpps      100000 datagrams/s of 1250 bytes
}

func ExampleCases() {
	base := report.Case{Duration: time.Second}
	for _, c := range report.Cases(base, []udp.Transport{udp.TransportNaive, udp.TransportGRO}, []int{1472, 8972}, []int{8, 64}) {
		fmt.Println(c)
	}
	// Output:
	// naive 1472 B batch 1
	// naive 8972 B batch 1
	// gro 1472 B batch 8
	// gro 1472 B batch 64
	// gro 8972 B batch 8
	// gro 8972 B batch 64
}

// Run measures one sender/receiver pair in this process and prints the
// table udpperf bench prints.
func ExampleRun() {
	r, err := bench.Run(context.Background(), report.Case{
		Transport: udp.TransportGRO,
		Payload:   8972,
		Duration:  2 * time.Second,
		PRBS:      true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	report.WriteTable(os.Stdout, []report.Result{r})
	fmt.Printf("lost %d of %d, %.0f ns of receiver CPU per datagram\n",
		r.SumReceived.LostPackets, r.SumSent.Packets, r.SumReceived.CPUNsPerDatagram)
}

func ExampleWriteTable() {
	var r report.Result
	r.Test = report.TestInfo{Transport: "mmsg", Payload: 1472, Batch: 64}
	r.SumReceived.DatagramsPerSecond = 557000
	r.SumReceived.BitsPerSecond = 557000 * 1472 * 8
	r.SumReceived.CPUNsPerDatagram = 1790
	r.SumSent.CPUNsPerDatagram = 1650
	report.WriteTable(os.Stdout, []report.Result{r})
	// Output:
	// transport  payload  batch  datagrams/s  Gbit/s  loss %  kernel drops  ring drops  rx ns/dgram  tx ns/dgram  PRBS errors
	//        mmsg     1472     64       557000   6.559   0.000             0           0         1790         1650            -
}
