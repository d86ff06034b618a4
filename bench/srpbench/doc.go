// Package srpbench runs udpperf's SRPv3 register access over engine/srp:
// a host end on plain UDP or on RSSI and the packetizer ([Dial]), a device
// served on the same links ([Serve]), and the bench loop that keeps
// transactions in flight and condenses their latencies and errors into a
// [Result] ([Run]).
package srpbench
