// Package rssirun runs udpperf's --rssi mode over engine/udprssi: a
// server that checks the PRBS frames of every tDest and counts sequence
// gaps ([Serve], [Checker]), and a client that sends PRBS frames on
// several tDests as fast as the RSSI window allows ([Send]). Both end in
// a [Report] in the JSON names of udpperf's other modes.
package rssirun
