//go:build !linux

package linksock

import (
	"fmt"
	"log/slog"
	"net"

	"golang.org/x/net/bpf"
)

// Listen opens one socket on the port for every interface (Link ""), and
// one for IPv6 beside it when asked and the host has IPv6; each packet's
// interface names its link.
func Listen(cfg Config, _ *slog.Logger) ([]*Socket, error) {
	c4, err := net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", cfg.Port))
	if err != nil {
		return nil, fmt.Errorf("listen on UDP port %d: %w", cfg.Port, err)
	}
	s4, err := NewSocket(c4, false)
	if err != nil {
		return nil, err
	}
	socks := []*Socket{s4}
	if !cfg.IPv6 {
		return socks, nil
	}
	if c6, err := net.ListenPacket("udp6", fmt.Sprintf("[::]:%d", cfg.Port)); err == nil {
		if s6, err := NewSocket(c6, true); err == nil {
			socks = append(socks, s6)
		}
	}
	return socks, nil
}

// SetFilter does nothing here: there are no kernel filters.
func (s *Socket) SetFilter([]bpf.RawInstruction) error { return nil }

// Follow does nothing here: the sockets are bound to no interface.
func Follow(Config, []*Socket) ([]string, error) { return nil, nil }
