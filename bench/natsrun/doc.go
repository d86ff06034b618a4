// Package natsrun is the benchmark side of engine/natsjs: udpperf consume
// counts what a JetStream reader delivers as udpperf server counts
// datagrams ([Consume]), and the summary lines and JSON sections of the
// reader's and the publisher's counters ([FormatConsume], [FormatPublish],
// [WithPublish]).
package natsrun
