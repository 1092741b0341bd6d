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

// Asker asks the link who answers for addresses and reports the answers
// from other hosts: all that a daemon needs of asking.
type Asker interface {
	// AskAll asks once for each question (an ARP probe, or a neighbour
	// solicitation) and says for how many it could; err tells why not
	// for the others.
	AskAll(qs []Question) (asked int, err error)
	// Watch has Run report the answers for ip too, an address the
	// asker was not opened with. Its family's socket must be open.
	Watch(ip netip.Addr) error
	// Drain reports at once, as Run would, the answers that have
	// arrived but wait unread; the caller must not hold what the answer
	// function takes.
	Drain()
	// Run reads until ctx ends or Close, calling answer for every answer
	// from another host for a watched address; calls never overlap. It
	// returns nil after Close, ctx's error when ctx ends, a read error
	// otherwise (it may then be called again).
	Run(ctx context.Context, answer func(Answer)) error
	Close() error
}

// OpenAsker is NewAsker for a daemon: where asking cannot work here it
// logs why and returns nil.
func OpenAsker(log *slog.Logger, addrs []netip.Addr, lookup func(name string) (*net.Interface, error)) Asker {
	a, err := NewAsker(addrs, lookup)
	if err != nil {
		logUnavailable(log, "addresses will be taken without asking the link who answers for them", err)
		return nil
	}
	return a
}
