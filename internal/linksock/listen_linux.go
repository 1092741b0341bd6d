package linksock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// RecvBuffer is each socket's receive buffer: room for a burst of junk
// without losing the packet behind it.
const RecvBuffer = 4 << 20

// Listen opens a socket bound to each link's interface, and one for the
// other interfaces only while some link's interface is missing (the
// package doc).
func Listen(cfg Config, log *slog.Logger) ([]*Socket, error) {
	missing := false
	for _, link := range cfg.Links {
		if _, err := net.InterfaceByName(link); err != nil {
			missing = true
		}
	}
	if missing {
		log.Warn("a link's interface is missing: the "+cfg.Name+" is shared with a socket for every interface, which a local user could join to take the packets sent to this host's own address", "port", cfg.Port)
	}
	var socks []*Socket
	fail := func(err error) ([]*Socket, error) {
		_ = CloseAll(socks)
		return nil, err
	}
	families := []string{"udp4"}
	if cfg.IPv6 {
		families = append(families, "udp6")
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
		for _, family := range families {
			filter, err := cfg.filter(exclude, family == "udp4")
			if err != nil {
				return fail(err)
			}
			c, err := listenOn(family, link, cfg.Port, filter, missing)
			if family == "udp6" && err != nil {
				continue // no IPv6 on this host or link
			}
			if errors.Is(err, unix.ENODEV) {
				log.Warn("no such interface yet: its packets share the socket of every other interface", "link", link, "port", cfg.Port)
				break
			}
			if err != nil {
				where := "every interface"
				if link != "" {
					where = "link " + link
				}
				return fail(fmt.Errorf("listen on UDP port %d on %s: %w", cfg.Port, where, err))
			}
			s, err := NewSocket(c, family == "udp6")
			if err != nil {
				return fail(err)
			}
			s.Link = link
			socks = append(socks, s)
			if link != "" {
				ifi, err := net.InterfaceByName(link)
				if err != nil {
					return fail(fmt.Errorf("link %s: %w", link, err))
				}
				s.index.Store(int64(ifi.Index))
				if family == "udp4" {
					bound = append(bound, uint32(ifi.Index))
				}
			}
		}
	}
	return socks, nil
}

// Follow binds again each link's socket whose interface was deleted and
// made again under the same name since it was bound (a bond or VLAN
// recreated, the network configuration restarted): the kernel binds a
// socket to an interface's index, and one bound to an index that is gone
// would receive nothing and send nowhere for good. The socket for the
// other interfaces (while a link's interface is missing) then gets the
// links' new indexes in its filter. It returns the links bound again.
// A link whose interface is gone for now is left as it is: it is bound
// again once its interface is back.
func Follow(cfg Config, socks []*Socket) (moved []string, err error) {
	var errs []error
	for _, s := range socks {
		if s.Link == "" {
			continue
		}
		ifi, ierr := net.InterfaceByName(s.Link)
		if ierr != nil || int64(ifi.Index) == s.index.Load() {
			continue
		}
		if err := s.control(func(fd int) error { return unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_BINDTOIFINDEX, ifi.Index) }); err != nil {
			errs = append(errs, fmt.Errorf("bind the %s to interface %s again: %w", cfg.Name, s.Link, err))
			continue
		}
		s.index.Store(int64(ifi.Index))
		if !slices.Contains(moved, s.Link) {
			moved = append(moved, s.Link)
		}
	}
	if len(moved) == 0 {
		return nil, errors.Join(errs...)
	}
	var bound []uint32
	for _, s := range socks {
		if s.Link != "" && s.V4 != nil {
			bound = append(bound, uint32(s.index.Load()))
		}
	}
	for _, s := range socks {
		if s.Link != "" {
			continue
		}
		filter, err := cfg.filter(bound, s.V4 != nil)
		if err == nil && filter != nil {
			err = s.SetFilter(filter)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("the %s's filter for the other interfaces: %w", cfg.Name, err))
		}
	}
	return moved, errors.Join(errs...)
}

// control runs fn on the socket's descriptor.
func (s *Socket) control(fn func(fd int) error) error {
	sc, err := s.Conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := sc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// filter is the kernel filter of one socket (Config.Filter).
func (cfg Config) filter(exclude []uint32, v4 bool) ([]bpf.RawInstruction, error) {
	if cfg.Filter != nil {
		return cfg.Filter(exclude, v4)
	}
	if len(exclude) == 0 {
		return nil, nil
	}
	return bpf.Assemble(append(Exclude(exclude), bpf.RetConstant{Val: 0xffff}))
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
			SetRecvBuffer(f, RecvBuffer)
			if filter != nil {
				serr = AttachFilter(f, filter)
			}
		})
		return errors.Join(err, serr)
	}}
	// No host: the unspecified address of family (0.0.0.0 or ::, the
	// latter IPv6 only).
	return lc.ListenPacket(context.Background(), family, fmt.Sprintf(":%d", port))
}

// SetRecvBuffer gives fd a receive buffer of size bytes; as root it may
// exceed net.core.rmem_max.
func SetRecvBuffer(fd, size int) {
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size)
	}
}

// AttachFilter gives the socket fd the kernel filter filter (classic BPF).
func AttachFilter(fd int, filter []bpf.RawInstruction) error {
	prog := make([]unix.SockFilter, len(filter))
	for i, ins := range filter {
		prog[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}); err != nil {
		return fmt.Errorf("attach the packet filter: %w", err)
	}
	return nil
}

// SetFilter replaces the socket's kernel filter; the kernel swaps it at
// once, and what is queued stays.
func (s *Socket) SetFilter(filter []bpf.RawInstruction) error {
	sc, err := s.Conn.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	var aerr error
	if err := sc.Control(func(fd uintptr) { aerr = AttachFilter(int(fd), filter) }); err != nil {
		return err
	}
	return aerr
}

// Exclude is the start of a classic BPF program that drops packets that
// arrived on an interface in exclude and goes on to the next instruction
// with the others; nil when exclude is empty.
func Exclude(exclude []uint32) []bpf.Instruction {
	k := len(exclude)
	if k == 0 {
		return nil
	}
	// 0: the interface; 1..k: a match jumps to the drop at k+2; k+1
	// skips the drop.
	prog := []bpf.Instruction{bpf.LoadExtension{Num: bpf.ExtInterfaceIndex}}
	for i, idx := range exclude {
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: idx, SkipTrue: uint8(k - i)})
	}
	return append(prog, bpf.Jump{Skip: 1}, bpf.RetConstant{Val: 0})
}
