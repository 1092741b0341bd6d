//go:build !linux

package linksock

import (
	"net"
	"net/netip"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// receiver holds the buffers of a batch on Linux; Drain needs none here.
type receiver struct{}

// readFrom is ipv4.PacketConn's or ipv6.PacketConn's ReadFrom, reduced to
// what a reader needs.
type readFrom func(b []byte) (n, ifindex int, src net.Addr, err error)

// Loop is the socket's reader.
func (s *Socket) Loop() ReadLoop {
	if s.V6 != nil {
		return loopOf(func(b []byte) (int, int, net.Addr, error) {
			n, cm, src, err := s.V6.ReadFrom(b)
			if cm != nil {
				return n, cm.IfIndex, src, err
			}
			return n, 0, src, err
		})
	}
	return loopOf(func(b []byte) (int, int, net.Addr, error) {
		n, cm, src, err := s.V4.ReadFrom(b)
		if cm != nil {
			return n, cm.IfIndex, src, err
		}
		return n, 0, src, err
	})
}

func loopOf(read readFrom) ReadLoop {
	return func(each PacketFunc, done func()) error {
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

// ReadsAtOnce is how many packets one read takes here.
func ReadsAtOnce() int { return 1 }

// Drain does nothing here: a read with a deadline would disturb the
// reader goroutine's. Packets are read as they come.
func (s *Socket) Drain(PacketFunc, func(), int, time.Time) (int, error) { return 0, nil }
