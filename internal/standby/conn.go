package standby

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/linksock"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// DefaultPort is the standby port: the heartbeat port's neighbour, so
// that announcements never reach the heartbeat sockets and their filters.
const DefaultPort = 1695

// Config says where to announce and listen.
type Config struct {
	Port  uint16
	Links []string // the heartbeat links' interfaces
	Name  string   // this host's name: its own broadcasts come back to it
	// Addresses names the addresses this host takes (Fingerprint): its
	// announcements say it, and one that names others is another
	// pair's, dropped.
	Addresses string
	// Keys returns the keys in force (they change on reload).
	Keys      func() *wire.Keyring
	Freshness time.Duration // the replay guard's window for a new run
	// Replay is what the replay guard remembered before a restart
	// (ReplayMemory, kept on disk by failoverd): without it, recordings
	// of a standby sent within Freshness before the start would be
	// taken, each as late as the first.
	Replay []wire.SenderRecord
}

// Stats are the receiver's counters.
type Stats struct {
	Received uint64                     `json:"received"`
	Dropped  map[wire.DropReason]uint64 `json:"dropped,omitempty"`
}

// Conn announces this standby and hears the others.
type Conn struct {
	cfg   Config
	log   *slog.Logger
	socks []*linksock.Socket // none: Fed
	epoch uint64

	epochs chan struct{} // a token when the guard takes on an epoch

	mu       sync.Mutex
	seq      uint64
	guard    *wire.ReplayGuard
	stats    Stats
	names    map[int]string // ifindex -> interface name
	looked   time.Time
	lastWarn map[wire.DropReason]time.Time
	// bcast: each link's broadcast addresses, as read at bcastAt.
	bcast   map[string][]netip.Addr
	bcastAt time.Time
}

// Listen opens the standby port (IPv4), on Linux with a socket for each
// link (package linksock; the package doc).
func Listen(cfg Config, log *slog.Logger) (*Conn, error) {
	socks, err := linksock.Listen(sockets(cfg), log)
	if err != nil {
		return nil, fmt.Errorf("standby port: %w", err)
	}
	return newConn(cfg, log, socks), nil
}

// sockets is what linksock opens for cfg.
func sockets(cfg Config) linksock.Config {
	return linksock.Config{Port: cfg.Port, Links: cfg.Links, Name: "standby port"}
}

func newConn(cfg Config, log *slog.Logger, socks []*linksock.Socket) *Conn {
	var b [8]byte
	_, _ = rand.Read(b[:])
	guard := wire.NewReplayGuard(cfg.Freshness)
	guard.Restore(cfg.Replay, time.Now())
	return &Conn{cfg: cfg, log: log, socks: socks, epoch: binary.BigEndian.Uint64(b[:]), epochs: make(chan struct{}, 1),
		guard: guard, stats: Stats{Dropped: map[wire.DropReason]uint64{}},
		names: map[int]string{}, lastWarn: map[wire.DropReason]time.Time{}}
}

// ReplayMemory returns what the replay guard remembers, for a restart,
// and how many epochs it took on and packets it accepted so far.
func (c *Conn) ReplayMemory() (recs []wire.SenderRecord, adopted, accepted uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	adopted, accepted = c.guard.Changes()
	return c.guard.Records(), adopted, accepted
}

// EpochChanged receives when the replay guard took on an epoch since the
// last receive.
func (c *Conn) EpochChanged() <-chan struct{} { return c.epochs }

// Fed returns a Conn without a socket, for a simulation that carries the
// announcements itself: it sends what Sealed returns to the standby port
// of each link's broadcast address, and hands each packet that arrives
// there to Accept. Announce and Run need a socket (Listen's Conn).
func Fed(cfg Config, log *slog.Logger) *Conn { return newConn(cfg, log, nil) }

var errNoSocket = errors.New("standby port: this Conn has no socket (Fed)")

// Close closes the sockets.
func (c *Conn) Close() error { return linksock.CloseAll(c.socks) }

// Stats returns a copy of the counters.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := Stats{Received: c.stats.Received, Dropped: map[wire.DropReason]uint64{}}
	for k, v := range c.stats.Dropped {
		out.Dropped[k] = v
	}
	return out
}

// Packet is the next announcement of s, sent at now, saying interval.
func (c *Conn) Packet(s Self, interval time.Duration, now time.Time) wire.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	s.Addresses = c.cfg.Addresses
	return wire.Packet{Type: wire.Standby, Sender: c.cfg.Name, Epoch: c.epoch, Seq: c.seq,
		Interval: max(interval, time.Millisecond), SentAt: now, Message: s.Message()}
}

// Announce sends s to the broadcast address of every link's IPv4
// subnets, each from the link's socket. It returns how many it sent to,
// and the errors.
func (c *Conn) Announce(s Self, interval time.Duration, now time.Time) (sent int, err error) {
	if len(c.socks) == 0 {
		return 0, errNoSocket
	}
	b, err := c.Sealed(s, interval, now)
	if err != nil {
		return 0, err
	}
	var errs []error
	var done []netip.Addr
	for _, link := range c.cfg.Links {
		from := c.socketOf(link)
		for _, to := range c.broadcastsOf(link) {
			if slices.Contains(done, to) {
				continue
			}
			done = append(done, to)
			if from == nil {
				errs = append(errs, fmt.Errorf("to %v: no socket on link %s", to, link))
				continue
			}
			if _, err := from.Conn.WriteTo(b, net.UDPAddrFromAddrPort(netip.AddrPortFrom(to, c.cfg.Port))); err != nil {
				errs = append(errs, fmt.Errorf("to %v: %w", to, err))
				continue
			}
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// socketOf returns the socket that sends on link: its own, or the one
// for every other interface; nil when there is neither.
func (c *Conn) socketOf(link string) *linksock.Socket {
	var other *linksock.Socket
	for _, s := range c.socks {
		switch s.Link {
		case link:
			return s
		case "":
			other = s
		}
	}
	return other
}

// Sealed is the next announcement of s (Packet), sealed with the keys in
// force: what Announce sends.
func (c *Conn) Sealed(s Self, interval time.Duration, now time.Time) ([]byte, error) {
	p := c.Packet(s, interval, now)
	return c.cfg.Keys().Seal(&p)
}

// broadcasts returns the broadcast address of each IPv4 subnet (shorter
// than /31) of link.
func broadcasts(link string) []netip.Addr {
	ifi, err := net.InterfaceByName(link)
	if err != nil {
		return nil
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if b, ok := broadcast(n); ok {
				out = append(out, b)
			}
		}
	}
	return out
}

// broadcastsOf is broadcasts(link) as read within the last second: each
// read is a netlink dump of the host's interfaces and addresses, which
// at an announcement every 10 ms cost a standing-by failoverd four
// times the CPU of all its other work.
func (c *Conn) broadcastsOf(link string) []netip.Addr {
	now := time.Now()
	c.mu.Lock()
	if now.Sub(c.bcastAt) >= time.Second || now.Before(c.bcastAt) {
		c.bcast, c.bcastAt = map[string][]netip.Addr{}, now
	}
	out, ok := c.bcast[link]
	c.mu.Unlock()
	if ok {
		return out
	}
	out = broadcasts(link)
	c.mu.Lock()
	c.bcast[link] = out
	c.mu.Unlock()
	return out
}

// broadcast returns the broadcast address of an IPv4 subnet shorter
// than /31.
func broadcast(n *net.IPNet) (netip.Addr, bool) {
	ip4 := n.IP.To4()
	ones, bits := n.Mask.Size()
	if ip4 == nil || bits != 32 || ones >= 31 {
		return netip.Addr{}, false
	}
	return netif.BroadcastOf(netip.PrefixFrom(netip.AddrFrom4([4]byte(ip4)), ones)), true
}

// Run reads announcements until ctx ends and hands each accepted one to
// deliver, in the goroutine that read it: one for each socket, so that
// junk on one link is read by that link's goroutine, never in the way of
// another link's announcements. A packet's link is its socket's, or, on
// the socket for every other interface, its interface's.
func (c *Conn) Run(ctx context.Context, deliver func(Peer)) error {
	if len(c.socks) == 0 {
		return errNoSocket
	}
	go func() { <-ctx.Done(); c.Close() }()
	reads := make([]func() error, len(c.socks))
	for i, s := range c.socks {
		each := func(b []byte, ifindex int, from netip.Addr) {
			link := s.Link
			if link == "" {
				link = c.link(ifindex)
			}
			if p, ok := c.Accept(b, link, from.Unmap(), time.Now()); ok {
				deliver(p)
			}
		}
		reads[i] = func() error { return s.Loop()(each, func() {}) }
	}
	read := make(chan error, 1)
	go func() {
		read <- linksock.ReadAll(ctx, reads, func(i int, err error) {
			c.log.Error("a socket of the standby port failed; the standbys on its link go unheard until failoverd restarts", "link", c.socks[i].Link, "err", err)
		})
	}()
	if err := c.follow(read); err != nil {
		return fmt.Errorf("standby port: %w", err)
	}
	return nil
}

// follow binds each link's socket again once its interface was made
// again, until the readers return (read: their error): bound to the old
// one's index, it would hear and tell no standby on that link until
// failoverd restarts. It runs in Run's goroutine, where the interfaces'
// names are looked up.
func (c *Conn) follow(read <-chan error) error {
	return linksock.FollowUntil(read, sockets(c.cfg), c.socks, func(links []string) {
		c.log.Warn("a link's interface was made again: the standby port is bound to the new one", "links", links)
	}, func(err error) {
		c.log.Error("cannot bind the standby port to a link's new interface: the standbys on it go unheard", "err", err)
	})
}

// link returns the name of the interface ifindex, looked up again at
// most once a second for one it does not know.
func (c *Conn) link(ifindex int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.names[ifindex]; ok || time.Since(c.looked) < time.Second {
		return n
	}
	c.looked = time.Now()
	if ifi, err := net.InterfaceByIndex(ifindex); err == nil {
		c.names[ifindex] = ifi.Name
	}
	return c.names[ifindex]
}

// Accept decides on one packet that arrived on link from from at now, as
// Run does for each it reads: ok with the standby it announces, or
// dropped and counted by reason.
func (c *Conn) Accept(b []byte, link string, from netip.Addr, now time.Time) (Peer, bool) {
	li := slices.Index(c.cfg.Links, link)
	if li < 0 {
		c.drop(wire.DropUnknownLink, from, fmt.Errorf("arrived on %q, not a heartbeat link", link))
		return Peer{}, false
	}
	p, err := c.cfg.Keys().Open(b)
	if err != nil {
		c.drop(wire.ReasonOf(err), from, err)
		return Peer{}, false
	}
	if p.Type != wire.Standby {
		c.drop(wire.DropWrongType, from, fmt.Errorf("%w: a %s on the standby port", wire.ErrWrongType, p.Type))
		return Peer{}, false
	}
	if p.Sender == c.cfg.Name {
		if p.Epoch != c.epoch {
			// Not this run's own broadcast, looped back: another host
			// goes by this host's name (the host name up to its first
			// dot, by default), and the two would ignore each other and
			// both take the addresses (or a recording of an earlier run
			// of this host's).
			c.drop(wire.DropWrongPeer, from, fmt.Errorf("another standby announces itself with this host's name %q: set FAILOVER_NODE_NAME apart on each host", p.Sender))
		}
		return Peer{}, false
	}
	s, err := ParseMessage(p.Sender, p.Message)
	if err != nil {
		c.drop(wire.DropMalformed, from, err)
		return Peer{}, false
	}
	if s.Addresses != c.cfg.Addresses {
		c.drop(wire.DropWrongPeer, from, fmt.Errorf("standby %s takes other addresses (%s, this host's are %s): another pair's standby, or FAILOVER_PAIRS set apart", p.Sender, s.Addresses, c.cfg.Addresses))
		return Peer{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	adopted, _ := c.guard.Changes()
	if err := c.guard.Check(&p, li, now); err != nil {
		c.dropLocked(wire.ReasonOf(err), from, err)
		return Peer{}, false
	}
	if again, _ := c.guard.Changes(); again != adopted {
		select {
		case c.epochs <- struct{}{}:
		default: // one token says it
		}
	}
	c.stats.Received++
	return Peer{Self: s, Heard: now, From: from, Link: link, Interval: p.Interval}, true
}

func (c *Conn) drop(r wire.DropReason, from netip.Addr, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked(r, from, err)
}

// dropLocked counts a drop; the first of each reason, then one a minute
// at most, is logged as a warning.
func (c *Conn) dropLocked(r wire.DropReason, from netip.Addr, err error) {
	c.stats.Dropped[r]++
	if now := time.Now(); now.Sub(c.lastWarn[r]) >= time.Minute {
		c.lastWarn[r] = now
		c.log.Warn("dropped packet on the standby port", "reason", r, "from", from, "err", err, "dropped", c.stats.Dropped[r])
	}
}
