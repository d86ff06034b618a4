// Command udppeer is a plain UDP program, written only with package net,
// that the engine's tests run as a second process to check that the
// Server and Client interoperate with an independent implementation.
//
//	udppeer echo            print the port, echo datagrams until stdin closes
//	udppeer send PORT N SIZE  send N numbered datagrams to 127.0.0.1:PORT and
//	                        check the echoes; print "ok N" or the first fault
package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: udppeer echo | udppeer send PORT N SIZE")
	}
	switch os.Args[1] {
	case "echo":
		echo()
	case "send":
		if len(os.Args) != 5 {
			fail("usage: udppeer send PORT N SIZE")
		}
		port, _ := strconv.Atoi(os.Args[2])
		n, _ := strconv.Atoi(os.Args[3])
		size, _ := strconv.Atoi(os.Args[4])
		send(port, n, size)
	default:
		fail("unknown mode " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}

func echo() {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fail(err.Error())
	}
	fmt.Println(c.LocalAddr().(*net.UDPAddr).Port)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		c.Close()
	}()
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		c.WriteToUDPAddrPort(buf[:n], from)
	}
}

// fill writes the tests' pattern: a little-endian sequence number, then
// bytes derived from it and their position.
func fill(b []byte, seq uint32) {
	binary.LittleEndian.PutUint32(b, seq)
	for i := 4; i < len(b); i++ {
		b[i] = byte(seq*31 + uint32(i)*7)
	}
}

func send(port, n, size int) {
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		fail(err.Error())
	}
	defer c.Close()
	c.SetReadBuffer(8 << 20)
	out := make([]byte, size)
	in := make([]byte, 65536)
	want := make([]byte, size)
	deadline := time.Now().Add(30 * time.Second)
	c.SetReadDeadline(deadline)
	// One datagram in flight at a time: lossless on any machine.
	for i := range n {
		fill(out, uint32(i))
		if _, err := c.Write(out); err != nil {
			fail(fmt.Sprintf("send %d: %v", i, err))
		}
		m, err := c.Read(in)
		if err != nil {
			fail(fmt.Sprintf("echo %d: %v", i, err))
		}
		fill(want, uint32(i))
		if m != size || string(in[:m]) != string(want) {
			fail(fmt.Sprintf("echo %d: %d bytes, content differs", i, m))
		}
	}
	fmt.Printf("ok %d\n", n)
}
