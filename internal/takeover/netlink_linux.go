package takeover

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// LabelSuffix marks the addresses failoverd adds: `ip addr` shows them
// with the label eth0:ipfo (IPv4 only; the kernel keeps no IPv6 labels).
const LabelSuffix = ":ipfo"

// Netlink manages addresses with rtnetlink, in the network namespace
// that was current when it was made.
type Netlink struct {
	h *netlink.Handle
}

var _ Manager = (*Netlink)(nil)

// NewManager returns the system's address manager.
func NewManager() (Manager, error) { return NewNetlink() }

// NewNetlink opens a netlink handle in the current network namespace.
func NewNetlink() (*Netlink, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	return &Netlink{h: h}, nil
}

// Close closes the netlink sockets.
func (n *Netlink) Close() { n.h.Close() }

// Interface returns the interface's index, MAC and flags.
func (n *Netlink) Interface(name string) (*net.Interface, error) {
	l, err := n.link(name)
	if err != nil {
		return nil, err
	}
	a := l.Attrs()
	return &net.Interface{Index: a.Index, MTU: a.MTU, Name: a.Name, HardwareAddr: a.HardwareAddr, Flags: a.Flags}, nil
}

func (n *Netlink) link(name string) (netlink.Link, error) {
	l, err := n.h.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return nil, noInterface(name)
		}
		return nil, fmt.Errorf("interface %s: %w", name, err)
	}
	return l, nil
}

// nlAddr is the netlink form of a: valid forever but never preferred, so
// the kernel does not pick it as a source address for this host's own
// connections; no duplicate address detection for IPv6, so it is usable
// (and announceable) at once.
func nlAddr(a Address) *netlink.Addr {
	ipn := &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Prefix.Bits(), a.Addr().BitLen())}
	na := &netlink.Addr{IPNet: ipn, ValidLft: math.MaxUint32, PreferedLft: 0}
	if a.Addr().Is4() {
		if label := a.Interface + LabelSuffix; len(label) <= unix.IFNAMSIZ-1 {
			na.Label = label
		}
	} else {
		na.Flags = unix.IFA_F_NODAD
	}
	return na
}

// ErrOwnAddress: the address is this host's own, not one failoverd took
// over; failoverd neither adds it again nor removes it.
var ErrOwnAddress = errors.New("is this host's own address")

// ours reports whether an installed entry is one failoverd added: never
// preferred (the deprecated flag), or labelled as ours.
func ours(a *netlink.Addr) bool {
	return a.Flags&unix.IFA_F_DEPRECATED != 0 || strings.HasSuffix(a.Label, LabelSuffix)
}

// Acquire adds a to its interface, or refreshes it when present. An entry
// of ours for the same address with another prefix is replaced; the
// host's own address is refused.
func (n *Netlink) Acquire(ctx context.Context, a Address) error {
	return n.AcquireAll(ctx, []Address{a})[0]
}

// AcquireAll is Acquire for many addresses, with one look at each
// interface and its addresses rather than one per address: a takeover of
// 64 addresses must not spend its time listing them 64 times.
func (n *Netlink) AcquireAll(_ context.Context, as []Address) []error {
	errs := make([]error, len(as))
	type ifState struct {
		link    netlink.Link
		err     error
		entries map[netip.Addr][]netlink.Addr
	}
	ifs := map[string]*ifState{}
	for i, a := range as {
		st := ifs[a.Interface]
		if st == nil {
			st = &ifState{entries: map[netip.Addr][]netlink.Addr{}}
			ifs[a.Interface] = st
			st.link, st.err = n.link(a.Interface)
			if st.err == nil && st.link.Attrs().Flags&net.FlagUp == 0 {
				st.err = interfaceDown(a.Interface)
			}
			if st.err == nil {
				st.err = n.listInto(st.link, st.entries)
			}
		}
		if st.err != nil {
			errs[i] = st.err
			continue
		}
		errs[i] = n.acquireOne(st.link, st.entries[a.Addr()], a)
	}
	return errs
}

// listInto reads every address of l, both families, keyed by address.
func (n *Netlink) listInto(l netlink.Link, into map[netip.Addr][]netlink.Addr) error {
	addrs, err := n.h.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list addresses of %s: %w", l.Attrs().Name, err)
	}
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			into[ip.Unmap()] = append(into[ip.Unmap()], a)
		}
	}
	return nil
}

func (n *Netlink) acquireOne(l netlink.Link, entries []netlink.Addr, a Address) error {
	for _, e := range entries {
		if !ours(&e) {
			return fmt.Errorf("add %s: %s %w", a, a.Addr(), ErrOwnAddress)
		}
		if ones, _ := e.Mask.Size(); ones != a.Prefix.Bits() {
			if err := n.del(l, &e, a); err != nil {
				return err
			}
		}
	}
	if err := n.h.AddrReplace(l, nlAddr(a)); err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return permission("add "+a.String(), "CAP_NET_ADMIN", err)
		}
		return fmt.Errorf("add %s: %w", a, err)
	}
	return nil
}

// Release removes every entry of ours for a's address, whatever its
// prefix. An address that is not there, or an interface that is gone, is
// not an error: there is nothing to remove. The host's own address is
// never removed.
func (n *Netlink) Release(_ context.Context, a Address) error {
	l, err := n.link(a.Interface)
	if errors.Is(err, ErrNoInterface) {
		return nil
	}
	if err != nil {
		return err
	}
	entries, err := n.entries(l, a.Addr())
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !ours(&e) {
			return fmt.Errorf("remove %s: %s %w; not removing it", a, a.Addr(), ErrOwnAddress)
		}
		if err := n.del(l, &e, a); err != nil {
			return err
		}
	}
	return nil
}

func (n *Netlink) del(l netlink.Link, e *netlink.Addr, a Address) error {
	if err := n.h.AddrDel(l, e); err != nil {
		switch {
		case errors.Is(err, unix.EADDRNOTAVAIL):
			return nil // gone in between
		case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
			return permission("remove "+a.String(), "CAP_NET_ADMIN", err)
		}
		return fmt.Errorf("remove %s: %w", a, err)
	}
	return nil
}

// entries returns every entry of ip on l.
func (n *Netlink) entries(l netlink.Link, ip netip.Addr) ([]netlink.Addr, error) {
	family := netlink.FAMILY_V4
	if ip.Is6() {
		family = netlink.FAMILY_V6
	}
	addrs, err := n.h.AddrList(l, family)
	if err != nil {
		return nil, fmt.Errorf("list addresses of %s: %w", l.Attrs().Name, err)
	}
	var out []netlink.Addr
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == ip {
			out = append(out, a)
		}
	}
	return out, nil
}

// Held returns those of set that failoverd holds (entries of ours) on
// their interfaces. An interface that does not exist holds nothing.
func (n *Netlink) Held(_ context.Context, set []Address) ([]Address, error) {
	var out []Address
	links := map[string]netlink.Link{}
	for _, a := range set {
		l, ok := links[a.Interface]
		if !ok {
			var err error
			l, err = n.link(a.Interface)
			if err != nil && !errors.Is(err, ErrNoInterface) {
				return nil, err
			}
			links[a.Interface] = l
		}
		if l == nil {
			continue
		}
		entries, err := n.entries(l, a.Addr())
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(entries, func(e netlink.Addr) bool { return ours(&e) }) {
			out = append(out, a)
		}
	}
	return out, nil
}
