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

// listen opens a socket bound to each link's interface, and one for the
// other interfaces only while some link's interface is missing (the
// package doc's "Sockets on Linux").
func listen(cfg Config, log *slog.Logger) ([]*socket, error) {
	missing := false
	for _, link := range cfg.Links {
		if _, err := net.InterfaceByName(link); err != nil {
			missing = true
		}
	}
	if missing {
		log.Warn("a link's interface is missing: the heartbeat port is shared with a socket for every interface, which a local user could join to take unicast heartbeats")
	}
	var socks []*socket
	fail := func(err error) ([]*socket, error) {
		for _, s := range socks {
			s.conn.Close()
		}
		return nil, err
	}
	var bound []uint32 // the interfaces of the links that have sockets
	links := cfg.Links
	if missing {
		links = append(append([]string(nil), cfg.Links...), "")
	}
	for _, link := range links {
		var exclude []uint32
		if link == "" {
			exclude = bound
		}
		for _, family := range []string{"udp4", "udp6"} {
			filter, err := socketFilter(exclude, cfg.peers(), family == "udp4", !cfg.Legacy)
			if err != nil {
				return fail(err)
			}
			c, err := listenOn(family, link, cfg.Port, filter, missing)
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
			s, err := newSocket(c, family == "udp6")
			if err != nil {
				return fail(err)
			}
			s.link = link
			socks = append(socks, s)
			if link != "" && family == "udp4" {
				ifi, err := net.InterfaceByName(link)
				if err != nil {
					return fail(fmt.Errorf("link %s: %w", link, err))
				}
				bound = append(bound, uint32(ifi.Index))
			}
		}
	}
	return socks, nil
}

// listenOn opens one socket on port, bound to link's interface unless
// link is "". share: the sockets share the port (SO_REUSEADDR); the
// kernel gives a packet to the one bound to its interface first.
func listenOn(family, link string, port uint16, filter []bpf.RawInstruction, share bool) (net.PacketConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			f := int(fd)
			if share {
				if serr = unix.SetsockoptInt(f, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
					return
				}
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
			if filter != nil {
				serr = attachFilter(f, filter)
			}
		})
		return errors.Join(err, serr)
	}}
	// No host: the unspecified address of family (0.0.0.0 or ::, the
	// latter IPv6 only).
	return lc.ListenPacket(context.Background(), family, fmt.Sprintf(":%d", port))
}

func attachFilter(fd int, filter []bpf.RawInstruction) error {
	prog := make([]unix.SockFilter, len(filter))
	for i, ins := range filter {
		prog[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}); err != nil {
		return fmt.Errorf("attach the packet filter: %w", err)
	}
	return nil
}

// admit replaces the filter of a link's IPv4 socket with one that passes
// packets from peers only (see peers.go); the kernel swaps it at once,
// and what is queued stays.
func (s *socket) admit(peers []netip.Prefix, needMagic bool) error {
	filter, err := socketFilter(nil, peers, true, needMagic)
	if err != nil {
		return err
	}
	sc, err := s.conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	var aerr error
	if err := sc.Control(func(fd uintptr) { aerr = attachFilter(int(fd), filter) }); err != nil {
		return err
	}
	return aerr
}

// magic is the first four bytes of every heartbeat packet ("IPFO").
const magic = 0x4950464f

// socketFilter is a classic BPF program for one socket: it drops packets
// that arrived on an interface in exclude and, on an IPv4 socket (v4),
// passes only packets whose source is one of peers' IPv4 addresses and,
// when needMagic, whose payload starts with the protocol's magic. nil
// when there is nothing to filter.
func socketFilter(exclude []uint32, peers []netip.Prefix, v4, needMagic bool) ([]bpf.RawInstruction, error) {
	var prog []bpf.Instruction
	if k := len(exclude); k > 0 {
		// 0: the interface; 1..k: a match jumps to the drop at k+2;
		// k+1 skips the drop.
		prog = append(prog, bpf.LoadExtension{Num: bpf.ExtInterfaceIndex})
		for i, idx := range exclude {
			prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: idx, SkipTrue: uint8(k - i)})
		}
		prog = append(prog, bpf.Jump{Skip: 1}, bpf.RetConstant{Val: 0})
	}
	type net4 struct{ addr, mask uint32 }
	var nets []net4
	for _, p := range peers {
		if a := p.Addr().Unmap(); a.Is4() {
			b := a.As4()
			bits := p.Bits() - (p.Addr().BitLen() - 32) // a mapped prefix counts the 96 bits before
			mask := ^uint32(0) << (32 - min(max(bits, 0), 32))
			nets = append(nets, net4{(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) & mask, mask})
		}
	}
	if !v4 || len(nets) == 0 {
		if prog == nil {
			return nil, nil
		}
		return bpf.Assemble(append(prog, bpf.RetConstant{Val: 0xffff}))
	}
	const (
		netOff = -0x100000 // SKF_NET_OFF: offsets from the IP header
		srcOff = 12        // the IPv4 source address
		udpLen = 8         // a socket filter's offset 0 is the UDP header
	)
	// For each peer: load the source, mask it, compare; a match jumps
	// over the drop that follows to the check of the magic.
	src := int32(netOff + srcOff)
	var block []bpf.Instruction
	var jumps []int // the compares, whose SkipTrue reaches past the drop
	for _, n := range nets {
		block = append(block, bpf.LoadAbsolute{Off: uint32(src), Size: 4})
		if n.mask != ^uint32(0) {
			block = append(block, bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: n.mask})
		}
		jumps = append(jumps, len(block))
		block = append(block, bpf.JumpIf{Cond: bpf.JumpEqual, Val: n.addr})
	}
	if len(block) > 255 {
		// A jump skips at most 255 instructions.
		return nil, fmt.Errorf("too many primary addresses (%d) for the kernel's packet filter", len(nets))
	}
	for _, i := range jumps {
		j := block[i].(bpf.JumpIf)
		j.SkipTrue = uint8(len(block) - i) // past the rest and the drop
		block[i] = j
	}
	prog = append(prog, block...)
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
