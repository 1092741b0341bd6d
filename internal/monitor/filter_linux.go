package monitor

import (
	"fmt"
	"net/netip"

	"golang.org/x/net/bpf"

	"github.com/ipfailover/ipfailover/internal/linksock"
)

// filter is a socket's kernel filter (linksock.Config.Filter): the
// primary's addresses, and the protocol's magic unless Legacy.
func (c Config) filter(exclude []uint32, v4 bool) ([]bpf.RawInstruction, error) {
	return socketFilter(exclude, c.peers(), v4, !c.Legacy)
}

// admit replaces the filter of a link's IPv4 socket with one that passes
// packets from peers only (see peers.go); the kernel swaps it at once,
// and what is queued stays.
func (s *socket) admit(peers []netip.Prefix, needMagic bool) error {
	filter, err := socketFilter(nil, peers, true, needMagic)
	if err != nil {
		return err
	}
	return s.SetFilter(filter)
}

// magic is the first four bytes of every heartbeat packet ("IPFO").
const magic = 0x4950464f

// socketFilter is a classic BPF program for one socket: it drops packets
// that arrived on an interface in exclude (linksock.Exclude) and, on an
// IPv4 socket (v4), passes only packets whose source is one of peers'
// IPv4 addresses and, when needMagic, whose payload starts with the
// protocol's magic. nil when there is nothing to filter.
func socketFilter(exclude []uint32, peers []netip.Prefix, v4, needMagic bool) ([]bpf.RawInstruction, error) {
	prog := linksock.Exclude(exclude)
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
