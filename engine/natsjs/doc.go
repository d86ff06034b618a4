// Package natsjs carries frames into and out of NATS JetStream: a
// Publisher (a Slave) packs the frames it accepts into messages on
// subjects Prefix.<channel> of a stream, and a Reader (a Master) reads the
// stream back and sends the same frames, payload, channel, flags and
// error intact, to its slaves. The stream keeps the frames for readers on
// other hosts, at their own pace, across restarts of either end.
//
// The client library (nats.go) does the connecting, reconnecting and
// flow control; this package adds the batching, the message format
// (format.go), the ordering and resending of publishes, and the counting:
// every frame a Publisher is given ends in exactly one of acknowledged,
// given up, pending, or dropped with its cause (PublisherStats).
//
// An acknowledged frame is one the server has stored (its ack came back).
// A message is published with a Nats-Msg-Id and sent again until
// acknowledged, so a server killed and restarted on the same store loses
// no acknowledged frame and keeps a resent message once (within the
// stream's de-duplication window, two minutes for streams this package
// creates).
//
// Package natsjs/embedded starts a NATS server inside the process, for
// tests and one-machine trials; this package does not link the server.
// The same code runs against any nats-server with JetStream from 2.9 on
// (nats-server -js).
package natsjs
