package srpbench

import (
	"context"
	"fmt"
	"time"

	"udpstream.dev/engine"
	"udpstream.dev/engine/memory"
	"udpstream.dev/engine/srp"
	"udpstream.dev/engine/udp"
	"udpstream.dev/engine/udprssi"
)

// Link selects the transport of both ends: plain UDP, or RSSI and the
// packetizer with SRPv3 on tDest 0 (Rogue's UdpRssiPack).
type Link struct {
	Host       string
	Port       int
	Jumbo      bool
	RSSI       bool
	Packetizer int // 1 or 2, with RSSI
}

func (l Link) String() string {
	s := "udp"
	if l.RSSI {
		s = fmt.Sprintf("rssi+packetizer v%d", l.Packetizer)
	}
	if l.Jumbo {
		s += " jumbo"
	}
	return s
}

// Host is the host end: a memory master over a hub (it splits large
// accesses) over an SRPv3 host on the link.
type Host struct {
	M     *memory.Master
	host  *srp.Host
	close func()
}

// Stats returns the SRPv3 host's counters.
func (h *Host) Stats() srp.HostStats { return h.host.Stats() }

// Close closes the master, the host and the link.
func (h *Host) Close() { h.close() }

// Dial opens the host end of l; over RSSI it waits up to 5 s for the link.
func Dial(ctx context.Context, l Link) (*Host, error) {
	h := &Host{host: srp.NewHost()}
	hub := memory.NewHub(0, 0, 0)
	hub.SetSlave(h.host)
	h.M = memory.NewMaster(hub)
	var tr interface{ Close() error }
	if l.RSSI {
		o := udprssi.Options{Jumbo: l.Jumbo, Packetizer: l.Packetizer}
		c, err := udprssi.NewClient(l.Host, l.Port, o)
		if err != nil {
			return nil, err
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.WaitOpen(wctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("no RSSI link to %s:%d: %w", l.Host, l.Port, err)
		}
		engine.Connect(h.host, c.Application(0))
		engine.Connect(c.Application(0), h.host)
		tr = c
	} else {
		c, err := udp.NewClient(l.Host, l.Port, l.Jumbo)
		if err != nil {
			return nil, err
		}
		engine.Connect(h.host, c)
		engine.Connect(c, h.host)
		tr = c
	}
	h.close = func() { h.M.Close(); h.host.Close(); tr.Close() }
	return h, nil
}

// Serve puts dev on l's port (l.Host is not used) and returns its closer
// and the port it listens on.
func Serve(dev *srp.Device, l Link) (func(), int, error) {
	if l.RSSI {
		s, err := udprssi.NewServer(l.Port, udprssi.Options{Jumbo: l.Jumbo, Packetizer: l.Packetizer})
		if err != nil {
			return nil, 0, err
		}
		engine.Connect(s.Application(0), dev)
		engine.Connect(dev, s.Application(0))
		return func() { s.Close() }, s.Port(), nil
	}
	s, err := udp.NewServer(l.Port, l.Jumbo)
	if err != nil {
		return nil, 0, err
	}
	engine.Connect(s, dev)
	engine.Connect(dev, s)
	return func() { s.Close() }, s.Port(), nil
}
