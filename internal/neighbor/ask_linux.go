package neighbor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"github.com/ipfailover/ipfailover/internal/linksock"
)

// linkAsker asks with ARP probes on an AF_PACKET datagram socket bound to
// ARP on every interface, and with neighbour solicitations on a raw
// ICMPv6 socket; each hears only answers (see the package doc).
type linkAsker struct {
	ifis  interfaces
	mu    sync.Mutex                   // Watch
	addrs atomic.Pointer[[]netip.Addr] // read by readND
	arp   *os.File                     // nil without IPv4 addresses
	arpRC syscall.RawConn
	nd    *ipv6.PacketConn // nil without IPv6 addresses
	links *netlink.Handle  // in the sockets' namespace, for this host's MACs
	// closed tells Run that its reads ended because of Close.
	closed atomic.Bool
	// rep is the running Run's reporter, for Drain.
	rep atomic.Pointer[reporter]
}

// maxARPAddrs bounds the addresses of one ARP filter: its jumps skip at
// most 255 instructions.
const maxARPAddrs = 200

var _ Asker = (*linkAsker)(nil)

// NewAsker opens a socket for each family among addrs; lookup finds a
// question's interface by name (net.InterfaceByName when nil). It needs
// CAP_NET_RAW.
func NewAsker(addrs []netip.Addr, lookup func(name string) (*net.Interface, error)) (Asker, error) {
	a, err := newLinkAsker(addrs, lookup)
	if err != nil {
		return nil, err // not a nil *linkAsker in a non-nil Asker
	}
	return a, nil
}

func newLinkAsker(addrs []netip.Addr, lookup func(name string) (*net.Interface, error)) (*linkAsker, error) {
	if len(addrs) == 0 {
		return nil, errors.New("ask who answers: no addresses to ask for")
	}
	a := &linkAsker{ifis: interfaces{lookup: lookup}}
	var all, v4 []netip.Addr
	for _, ip := range addrs {
		ip = ip.Unmap().WithZone("")
		all = append(all, ip)
		if ip.Is4() {
			v4 = append(v4, ip)
		}
	}
	a.addrs.Store(&all)
	var err error
	if a.links, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	if len(v4) > 0 {
		if a.arp, err = listenARP(v4); err != nil {
			a.Close()
			return nil, err
		}
		if a.arpRC, err = a.arp.SyscallConn(); err != nil {
			a.Close()
			return nil, err
		}
	}
	if len(v4) < len(all) {
		if a.nd, err = listenICMPv6(ipv6.ICMPTypeNeighborAdvertisement); err != nil {
			a.Close()
			return nil, err
		}
		if err := a.nd.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagInterface, true); err != nil {
			a.Close()
			return nil, fmt.Errorf("set up ICMPv6 socket: %w", err)
		}
	}
	return a, nil
}

// listenARP opens the ARP socket for addrs, non-blocking so that Go's
// poller watches it. The filter is attached before the socket is bound
// to ARP, so nothing else is ever queued.
func listenARP(addrs []netip.Addr) (*os.File, error) {
	fd, err := openPacketSocket(unix.SOCK_NONBLOCK)
	if err != nil {
		return nil, err
	}
	filter, err := arpFilter(addrs)
	if err == nil {
		err = attachFilter(fd, filter)
	}
	if err == nil {
		linksock.SetRecvBuffer(fd, recvBuffer)
		err = unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(ethPARP)})
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ARP socket: %w", err)
	}
	return os.NewFile(uintptr(fd), "arp"), nil
}

// arpFilter is a classic BPF program that passes only Ethernet/IPv4 ARP
// requests and replies whose sender protocol address is one of addrs
// (IPv4): the rest of a link's ARP, a flood of it too, is dropped in the
// kernel. On a datagram packet socket offset 0 is the ARP header.
func arpFilter(addrs []netip.Addr) ([]bpf.Instruction, error) {
	n := len(addrs)
	if n > maxARPAddrs {
		return nil, fmt.Errorf("%d IPv4 addresses, at most %d can be asked for", n, maxARPAddrs)
	}
	drop := 8 + n // the index of the drop; the accept follows it
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 0, Size: 4}, // hardware and protocol type
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 1<<16 | 0x0800, SkipTrue: uint8(drop - 2)},
		bpf.LoadAbsolute{Off: 4, Size: 2}, // address lengths
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 6<<8 | 4, SkipTrue: uint8(drop - 4)},
		bpf.LoadAbsolute{Off: 6, Size: 2}, // operation
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: ARPRequest, SkipTrue: 1},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: ARPReply, SkipTrue: uint8(drop - 7)},
		bpf.LoadAbsolute{Off: 14, Size: 4}, // sender protocol address
	}
	for i, ip := range addrs {
		a := ip.As4()
		prog = append(prog, bpf.JumpIf{Cond: bpf.JumpEqual, Val: uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]), SkipTrue: uint8(n - i)})
	}
	return append(prog, bpf.RetConstant{Val: 0}, bpf.RetConstant{Val: 0xffff}), nil
}

func attachFilter(fd int, filter []bpf.Instruction) error {
	raw, err := bpf.Assemble(filter)
	if err != nil {
		return err
	}
	return linksock.AttachFilter(fd, raw)
}

// Watch adds ip to the addresses whose answers Run reports: the ARP
// filter is replaced by one that passes it too. The socket of its family
// must be open (NewAsker was given an address of the family).
func (a *linkAsker) Watch(ip netip.Addr) error {
	ip = ip.Unmap().WithZone("")
	a.mu.Lock()
	defer a.mu.Unlock()
	old := *a.addrs.Load()
	if slices.Contains(old, ip) {
		return nil
	}
	all := append(slices.Clip(old), ip)
	if ip.Is4() {
		if a.arp == nil {
			return fmt.Errorf("hear answers for %s: the asker was opened without IPv4 addresses", ip)
		}
		var v4 []netip.Addr
		for _, x := range all {
			if x.Is4() {
				v4 = append(v4, x)
			}
		}
		filter, err := arpFilter(v4)
		if err != nil {
			return fmt.Errorf("hear answers for %s: %w", ip, err)
		}
		var aerr error
		if err := a.arpRC.Control(func(fd uintptr) { aerr = attachFilter(int(fd), filter) }); err != nil {
			return fmt.Errorf("hear answers for %s: %w", ip, err)
		}
		if aerr != nil {
			return fmt.Errorf("hear answers for %s: %w", ip, aerr)
		}
	} else if a.nd == nil {
		return fmt.Errorf("hear answers for %s: the asker was opened without IPv6 addresses", ip)
	}
	a.addrs.Store(&all)
	return nil
}

// AskAll asks each question on its interface.
func (a *linkAsker) AskAll(qs []Question) (int, error) { return a.ifis.askAll(qs, a.Ask) }

// Ask sends one ARP probe or neighbour solicitation for ip on ifi.
func (a *linkAsker) Ask(ifi *net.Interface, ip netip.Addr) error {
	ip = ip.Unmap().WithZone("")
	if err := a.ask(ifi, ip); err != nil {
		return fmt.Errorf("ask who answers for %s on %s: %w", ip, ifi.Name, err)
	}
	return nil
}

func (a *linkAsker) ask(ifi *net.Interface, ip netip.Addr) error {
	if ip.Is4() {
		if a.arp == nil {
			return errors.New("the asker was opened without IPv4 addresses")
		}
		frame, err := ARPProbe(ifi.HardwareAddr, ip)
		if err != nil {
			return err
		}
		var serr error
		err = a.arpRC.Write(func(fd uintptr) bool {
			serr = unix.Sendto(int(fd), frame, 0, arpBroadcast(ifi))
			return serr != unix.EAGAIN
		})
		return errors.Join(err, serr)
	}
	if a.nd == nil {
		return errors.New("the asker was opened without IPv6 addresses")
	}
	msg, err := NeighborSolicitation(ifi.HardwareAddr, ip)
	if err != nil {
		return err
	}
	return sendND(a.nd, ifi, netip.Addr{}, SolicitedNode(ip), msg)
}

// Run reads both sockets, each on a goroutine of its own, until one
// fails, Close, or ctx ends. After a failure it may be called again.
func (a *linkAsker) Run(ctx context.Context, answer func(Answer)) error {
	// Clear a past Run's wake-up.
	if a.arp != nil {
		_ = a.arp.SetReadDeadline(time.Time{})
	}
	if a.nd != nil {
		_ = a.nd.SetReadDeadline(time.Time{})
	}
	r := &reporter{links: a.links, answer: answer, listed: time.Now()}
	a.rep.Store(r)
	_ = r.list() // read again when a frame names what this one lacks
	var readers []func() error
	if a.arp != nil {
		readers = append(readers, func() error { return a.readARP(r) })
	}
	if a.nd != nil {
		readers = append(readers, func() error { return a.readND(r) })
	}
	// A deadline in the past ends every read at once.
	wake := func() {
		if a.arp != nil {
			_ = a.arp.SetReadDeadline(time.Unix(1, 0))
		}
		if a.nd != nil {
			_ = a.nd.SetReadDeadline(time.Unix(1, 0))
		}
	}
	defer context.AfterFunc(ctx, wake)()
	errs := make(chan error, len(readers))
	for _, read := range readers {
		go func() { errs <- read() }()
	}
	first := <-errs
	wake()
	for range len(readers) - 1 {
		<-errs
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case a.closed.Load():
		return nil
	}
	return first
}

// Drain reports the ARP answers waiting unread (Run's goroutine had no
// CPU yet): at most drainFrames, and none after drainTime, so that a
// flood does not hold a decision up; an answer held up by a busy process
// is near the front of the queue.
func (a *linkAsker) Drain() { a.drain(drainFrames, time.Now().Add(drainTime)) }

// The bounds of one Drain: a few hundred frames are well under a
// millisecond's reading.
const (
	drainFrames = 256
	drainTime   = time.Millisecond
)

// drain reads queued frames until the queue is empty, max are read, or
// the frame read last came after until (the first is always read), and
// returns how many it read.
func (a *linkAsker) drain(max int, until time.Time) int {
	r := a.rep.Load()
	if a.arp == nil || r == nil {
		return 0
	}
	buf := make([]byte, 64)
	read := 0
	// Control, not Read: Run's reader holds the descriptor's read lock
	// while it waits, and Read would wait behind it for a frame that
	// may never come.
	_ = a.arpRC.Control(func(fd uintptr) {
		for read < max {
			n, from, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			if err != nil {
				return // EAGAIN: nothing waits; another error: Run hears it
			}
			read++
			if ll, ok := from.(*unix.SockaddrLinklayer); ok {
				if p, err := ParseARP(buf[:n]); err == nil {
					_ = r.report(ll.Ifindex, p.SenderIP, p.SenderMAC)
				}
			}
			if !time.Now().Before(until) {
				return
			}
		}
	})
	return read
}

func (a *linkAsker) readARP(r *reporter) error {
	buf := make([]byte, 64) // an ARP packet, and the Ethernet padding after it
	for {
		var n int
		var from unix.Sockaddr
		var rerr error
		err := a.arpRC.Read(func(fd uintptr) bool {
			n, from, rerr = unix.Recvfrom(int(fd), buf, 0)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("read ARP: %w", err)
		}
		// No frame this host sends arrives here: the kernel copies
		// outgoing frames only to sockets bound to every protocol
		// (ETH_P_ALL), and this one is bound to ARP.
		ll, ok := from.(*unix.SockaddrLinklayer)
		if !ok {
			continue
		}
		p, err := ParseARP(buf[:n])
		if err != nil {
			continue
		}
		if err := r.report(ll.Ifindex, p.SenderIP, p.SenderMAC); err != nil {
			return err
		}
	}
}

func (a *linkAsker) readND(r *reporter) error {
	buf := make([]byte, 1500)
	for {
		n, cm, _, err := a.nd.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("read ICMPv6: %w", err)
		}
		// RFC 4861 7.1.2: hop limit 255, or it came from off the link.
		if cm == nil || cm.HopLimit != 255 {
			continue
		}
		target, mac, err := ParseNA(buf[:n])
		if err != nil || !slices.Contains(*a.addrs.Load(), target) {
			continue
		}
		if err := r.report(cm.IfIndex, target, mac); err != nil {
			return err
		}
	}
}

// Close closes the sockets; Run returns.
func (a *linkAsker) Close() error {
	a.closed.Store(true)
	var err error
	if a.arp != nil {
		err = a.arp.Close()
	}
	if a.nd != nil {
		err = errors.Join(err, a.nd.Close())
	}
	a.links.Close()
	return err
}

// reporter turns a frame that names an address into an Answer, unless its
// MAC is one of this host's, one frame at a time.
type reporter struct {
	mu     sync.Mutex
	links  *netlink.Handle
	names  map[int]string  // interface index → name
	macs   map[string]bool // this host's MACs
	listed time.Time       // when names and macs were read
	answer func(Answer)
}

// relist is how often, at most, this host's interfaces are read again
// for a frame from an interface or a MAC not known: another host's MAC
// is never known, and reading every interface for each of its answers
// (milliseconds on a host with hundreds) would make answers late.
const relist = time.Second

func (r *reporter) report(index int, addr netip.Addr, mac net.HardwareAddr) error {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	// An interface that is new, or a MAC that is new (this host's
	// changed, or another host's), is looked up again, once a second at
	// most. A failed reading keeps the last one: an answer is never lost
	// for it.
	if _, ok := r.names[index]; (!ok || !r.macs[string(mac)]) && now.Sub(r.listed) >= relist {
		r.listed = now
		_ = r.list()
	}
	if r.macs[string(mac)] {
		return nil
	}
	r.answer(Answer{At: now, Addr: addr, Interface: r.names[index], MAC: mac})
	return nil
}

// list reads this host's interfaces.
func (r *reporter) list() error {
	links, err := r.links.LinkList()
	if err != nil {
		return fmt.Errorf("list interfaces: %w", err)
	}
	r.names, r.macs = make(map[int]string, len(links)), make(map[string]bool, len(links))
	for _, l := range links {
		attrs := l.Attrs()
		r.names[attrs.Index] = attrs.Name
		if len(attrs.HardwareAddr) > 0 {
			r.macs[string(attrs.HardwareAddr)] = true
		}
	}
	return nil
}
