//go:build !linux

package monitor

import (
	"net"
	"net/netip"
)

func (m *Monitor) reader4() readFunc {
	return func(b []byte) (int, int, netip.Addr, error) {
		n, cm, src, err := m.v4.ReadFrom(b)
		ifindex := 0
		if cm != nil {
			ifindex = cm.IfIndex
		}
		return n, ifindex, addrOf(src), err
	}
}

func (m *Monitor) reader6() readFunc {
	return func(b []byte) (int, int, netip.Addr, error) {
		n, cm, src, err := m.v6.ReadFrom(b)
		ifindex := 0
		if cm != nil {
			ifindex = cm.IfIndex
		}
		return n, ifindex, addrOf(src), err
	}
}

func addrOf(a net.Addr) netip.Addr {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort().Addr()
	}
	return netip.Addr{}
}
