//go:build !linux

package monitor

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// readFrom is ipv4.PacketConn's or ipv6.PacketConn's ReadFrom, reduced to
// what the monitor needs.
type readFrom func(b []byte) (n, ifindex int, src net.Addr, err error)

// listen opens one socket for each address family on the heartbeat port;
// each packet's interface names its link.
func listen(cfg Config, _ *slog.Logger) ([]*socket, error) {
	c4, err := net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", cfg.Port))
	if err != nil {
		return nil, fmt.Errorf("listen on UDP port %d: %w", cfg.Port, err)
	}
	s4, err := newSocket(c4, false)
	if err != nil {
		return nil, err
	}
	socks := []*socket{s4}
	if c6, err := net.ListenPacket("udp6", fmt.Sprintf("[::]:%d", cfg.Port)); err == nil {
		if s6, err := newSocket(c6, true); err == nil {
			socks = append(socks, s6)
		}
	}
	return socks, nil
}

func (s *socket) reader() readLoop {
	if s.v6 != nil {
		return loopOf(func(b []byte) (int, int, net.Addr, error) {
			n, cm, src, err := s.v6.ReadFrom(b)
			if cm != nil {
				return n, cm.IfIndex, src, err
			}
			return n, 0, src, err
		})
	}
	return loopOf(func(b []byte) (int, int, net.Addr, error) {
		n, cm, src, err := s.v4.ReadFrom(b)
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

// readsAtOnce is how many packets one read takes here.
func readsAtOnce() int { return 1 }

type drainBuffers struct{}

// admit does nothing here: there are no kernel filters.
func (s *socket) admit([]netip.Prefix, bool) error { return nil }

// drain does nothing here: a read with a deadline would disturb the
// reader goroutine's. Packets are read as they come.
func (s *socket) drain(packetFunc, func(), int, time.Time) (int, error) { return 0, nil }
