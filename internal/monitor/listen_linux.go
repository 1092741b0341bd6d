package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// recvBuffer is each socket's receive buffer: room for a burst of junk
// without losing the heartbeat behind it.
const recvBuffer = 4 << 20

// listen opens, for each link, a socket bound to its interface, so that
// junk sent to the heartbeat port on one link fills that link's queue and
// is read by that link's goroutine, never in the way of another link's
// heartbeats; and one socket for the port on every other interface, whose
// packets are counted as from no link. Each IPv4 socket carries a kernel
// filter that passes only packets from the peer's addresses that start
// like a heartbeat: other junk is dropped before it is queued.
//
// A link whose interface does not exist (yet) gets no socket of its own:
// its packets, once it is there, come through the one for every other
// interface, attributed to it by their interface, without the isolation.
func listen(cfg Config, log *slog.Logger) ([]*socket, error) {
	var socks []*socket
	fail := func(err error) ([]*socket, error) {
		for _, s := range socks {
			s.conn.Close()
		}
		return nil, err
	}
	filter, err := peerFilter(cfg.Peers, !cfg.Legacy)
	if err != nil {
		return fail(err)
	}
	for _, link := range append(append([]string(nil), cfg.Links...), "") {
		for _, family := range []string{"udp4", "udp6"} {
			c, err := listenOn(family, link, cfg.Port, filter)
			if family == "udp6" && err != nil {
				continue // no IPv6 on this host or link
			}
			if errors.Is(err, unix.ENODEV) {
				log.Warn("no such interface yet: its heartbeats share the socket of every other interface", "link", link)
				break
			}
			if err != nil {
				where := "every interface"
				if link != "" {
					where = "link " + link
				}
				return fail(fmt.Errorf("listen on UDP port %d on %s: %w", cfg.Port, where, err))
			}
			s, err := newSocket(c, family == "udp6", link)
			if err != nil {
				return fail(err)
			}
			socks = append(socks, s)
		}
	}
	return socks, nil
}

// listenOn opens one socket on port, bound to link's interface unless
// link is "". The sockets share the port (SO_REUSEADDR); the kernel gives
// a packet to the one bound to its interface first.
func listenOn(family, link string, port uint16, filter []bpf.RawInstruction) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			f := int(fd)
			if serr = unix.SetsockoptInt(f, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
				return
			}
			if link != "" {
				if serr = unix.BindToDevice(f, link); serr != nil {
					serr = fmt.Errorf("bind to interface %s: %w", link, serr)
					return
				}
			}
			// As root the buffer may exceed net.core.rmem_max.
			if unix.SetsockoptInt(f, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, recvBuffer) != nil {
				_ = unix.SetsockoptInt(f, unix.SOL_SOCKET, unix.SO_RCVBUF, recvBuffer)
			}
			if family == "udp4" && filter != nil {
				prog := make([]unix.SockFilter, len(filter))
				for i, ins := range filter {
					prog[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
				}
				serr = unix.SetsockoptSockFprog(f, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
				if serr != nil {
					serr = fmt.Errorf("attach the packet filter: %w", serr)
				}
			}
		})
		return errors.Join(err, serr)
	}}
	addr := fmt.Sprintf("0.0.0.0:%d", port)
	if family == "udp6" {
		addr = fmt.Sprintf("[::]:%d", port)
	}
	return lc.ListenPacket(context.Background(), family, addr)
}

// magic is the first four bytes of every heartbeat packet ("IPFO").
const magic = 0x4950464f

// peerFilter is a classic BPF program for an IPv4 UDP socket: it passes
// packets whose source is one of peers' IPv4 addresses and, when
// needMagic, whose payload starts with the protocol's magic. nil when
// peers has no IPv4 address (the socket then takes nothing but is
// filtered in user space, as IPv6 sockets are).
func peerFilter(peers []netip.Addr, needMagic bool) ([]bpf.RawInstruction, error) {
	var v4 []uint32
	for _, p := range peers {
		if p = p.Unmap(); p.Is4() {
			b := p.As4()
			v4 = append(v4, uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3]))
		}
	}
	if len(v4) == 0 {
		return nil, nil
	}
	const (
		netOff = -0x100000 // SKF_NET_OFF: offsets from the IP header
		srcOff = 12        // the IPv4 source address
		udpLen = 8         // a socket filter's offset 0 is the UDP header
	)
	n := len(v4)
	// 0: load the source; 1..n: compare with each peer; n+1: drop;
	// n+2..: check the magic and accept.
	src := int32(netOff + srcOff)
	prog := []bpf.Instruction{bpf.LoadAbsolute{Off: uint32(src), Size: 4}}
	for i, a := range v4 {
		// Jump to n+2 (after the drop) on a match.
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: a, SkipTrue: uint8(n - i)})
	}
	prog = append(prog, bpf.RetConstant{Val: 0})
	if needMagic {
		prog = append(prog,
			bpf.LoadAbsolute{Off: udpLen, Size: 4},
			bpf.JumpIf{Cond: bpf.JumpEqual, Val: magic, SkipFalse: 1},
			bpf.RetConstant{Val: 0xffff},
			bpf.RetConstant{Val: 0},
		)
	} else {
		prog = append(prog, bpf.RetConstant{Val: 0xffff})
	}
	return bpf.Assemble(prog)
}
