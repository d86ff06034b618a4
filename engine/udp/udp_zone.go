package udp

import (
	"fmt"
	"net"
	"strconv"
)

// zoneIndex turns an IPv6 zone (an interface index in decimal, as received
// addresses carry, or an interface name) into an interface index.
func zoneIndex(zone string) (uint32, error) {
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		return uint32(n), nil
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, fmt.Errorf("engine: IPv6 zone %q: %w", zone, err)
	}
	return uint32(ifi.Index), nil
}
