package vethpair_test

import (
	"fmt"
	"net"
	"net/netip"

	"udpstream.dev/internal/vethpair"
)

// A receiver in namespace A and a sender in namespace B: sockets belong
// to the namespace they were created in, whichever goroutine uses them.
func Example() {
	p, err := vethpair.New(vethpair.Config{MTU: 9000})
	if err != nil {
		fmt.Println(err) // for instance: not root
		return
	}
	defer p.Close()
	var rx, tx *net.UDPConn
	err = p.A.Do(func() (err error) {
		rx, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.A.Addr4, 9999)))
		return err
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rx.Close()
	err = p.B.Do(func() (err error) {
		tx, err = net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
		return err
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tx.Close()
	tx.Write([]byte("hello"))
	buf := make([]byte, 9000)
	n, from, _ := rx.ReadFromUDPAddrPort(buf)
	fmt.Printf("%q from %v\n", buf[:n], from.Addr())
}
