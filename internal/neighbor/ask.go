package neighbor

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"time"
)

// Question is an address to ask who answers for, on the interface where
// it is held (takeover.Questions makes them of addresses).
type Question struct {
	Interface string
	Addr      netip.Addr
}

// Answer is a sign that a host other than this one holds an address: a
// reply to our question, or any ARP/NA of its own that names the address
// as its sender (a gratuitous ARP, its own ARP request).
type Answer struct {
	At        time.Time
	Addr      netip.Addr
	Interface string           // where it was seen
	MAC       net.HardwareAddr // the hardware address that answered
}

// Asker asks the link who answers for an address and reports answers.
type Asker interface {
	// Ask sends one question for ip on ifi (ARP request from sender IP 0.0.0.0,
	// RFC 5227's probe, so that nobody's cache is changed; for IPv6 a neighbour
	// solicitation to the solicited-node multicast address with a source link-layer option).
	Ask(ifi *net.Interface, ip netip.Addr) error
	// Run reads until ctx ends or Close, calling answer for every answer
	// for one of the addresses given to NewAsker; it never calls it for this host's own frames
	// (outgoing frames, or frames whose sender MAC is one of this host's interfaces' MACs).
	// Calls to answer never overlap. Run is called once; it returns nil
	// after Close, ctx's error when ctx ends, a read error otherwise.
	Run(ctx context.Context, answer func(Answer)) error
	Close() error
}

// Watcher is an Asker whose answers can cover more addresses than it
// was opened with (the Linux asker).
type Watcher interface {
	Watch(ip netip.Addr) error
}

// Drainer is an Asker that can report at once the answers waiting
// unread (the Linux asker).
type Drainer interface {
	Drain()
}

// OpenAsker is NewAsker for a daemon: where asking cannot work here it
// logs why and returns nil.
func OpenAsker(log *slog.Logger, addrs []netip.Addr) Asker {
	a, err := NewAsker(addrs)
	if err != nil {
		logUnavailable(log, "addresses will be taken without asking the link who answers for them", err)
		return nil
	}
	return a
}
