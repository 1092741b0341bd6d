//go:build !linux

package monitor

import (
	"net"
	"net/netip"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// readFrom is ipv4.PacketConn's or ipv6.PacketConn's ReadFrom, reduced to
// what the monitor needs.
type readFrom func(b []byte) (n, ifindex int, src net.Addr, err error)

func (m *Monitor) reader4() readLoop {
	return loopOf(func(b []byte) (int, int, net.Addr, error) {
		n, cm, src, err := m.v4.ReadFrom(b)
		if cm != nil {
			return n, cm.IfIndex, src, err
		}
		return n, 0, src, err
	})
}

func (m *Monitor) reader6() readLoop {
	return loopOf(func(b []byte) (int, int, net.Addr, error) {
		n, cm, src, err := m.v6.ReadFrom(b)
		if cm != nil {
			return n, cm.IfIndex, src, err
		}
		return n, 0, src, err
	})
}

func loopOf(read readFrom) readLoop {
	return func(each packetFunc, done func()) error {
		buf := make([]byte, wire.MaxPacketLen+1)
		for {
			n, ifindex, src, err := read(buf)
			if err != nil {
				return err
			}
			each(buf[:n], ifindex, addrOf(src))
			done()
		}
	}
}

func addrOf(a net.Addr) netip.Addr {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort().Addr()
	}
	return netip.Addr{}
}

// batchSize is how many packets one read takes here.
func batchSize() int { return 1 }
