// Package rssi is Reliable SSI, the small reliable-UDP protocol SLAC's
// firmware and Rogue speak, on the engine's stream model.
//
// A Controller is one end of a link, in the Client or the Server role. Its
// Transport side is connected both ways to a udp.Client or udp.Server
// (frames are whole RSSI datagrams); its Application side carries the
// segments of the layer above (the packetizer), each at most MaxPayload
// bytes. The wire format (header.go) is Rogue's byte for byte; the
// behaviour follows Rogue's Controller where the peer can see it, and
// departs from it where Rogue resets healthy links (see docs/rssi.md).
package rssi
