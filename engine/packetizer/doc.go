// Package packetizer is Rogue's packetizer, versions 1 and 2: it splits
// frames into segments that fit one RSSI segment, tags each with its
// channel (tDest, 0..255), and reassembles them on the other side.
//
// wire.go holds the two segment layouts and the chained CRC-32 of
// version 2, byte for byte as Rogue writes them.
package packetizer
