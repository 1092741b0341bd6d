package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/linksock"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Unknown is the link name under which packets from interfaces that are
// not links are counted.
const Unknown = "(other)"

// Config says what to listen for.
type Config struct {
	Port  uint16
	Links []string     // interface names: the private link first, then the pairs'
	Peers []netip.Addr // accepted source addresses: the primary's private and public addresses
	// PeerNets are subnets whose addresses are accepted too: a public
	// link's own subnet, where a primary that holds service addresses
	// sends from its host address. A packet from one of them counts only
	// with the sender and epoch last heard from Peers (the private link).
	PeerNets []netip.Prefix
	// Keyring returns the keys in force (they change on reload).
	Keyring   func() *wire.Keyring
	Freshness time.Duration // replay window for a new epoch
	// Replay is what the replay guard of an earlier run remembered
	// (failoverd's state file), so that a restart forgets no epoch.
	Replay []wire.SenderRecord
	// Legacy also accepts the original's bare-text heartbeat: a packet
	// that is exactly LegacyMessage (default "heartbeat").
	Legacy        bool
	LegacyMessage string
	// Snapshot lists interfaces; netif.Snapshot when nil.
	Snapshot func() ([]netif.Interface, error)
}

// peers is every accepted source as a prefix.
func (c Config) peers() []netip.Prefix {
	out := slices.Clone(c.PeerNets)
	for _, a := range c.Peers {
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out
}

// Heard is one accepted packet, or (Dropped) one from the primary's own
// addresses that was dropped. Packet.HardwareAddr is the MAC the sender
// says it sent from on the link, signed with the rest when a key is set:
// failoverd learns the primary's MAC from it, never from ARP.
type Heard struct {
	Link   string
	From   netip.Addr
	At     time.Time
	Packet wire.Packet // of a dropped packet, what it decoded to, if anything
	Legacy bool        // the original's bare text; Packet.Interval is zero
	// Auth is how the packet stood with the keys: zero for one dropped
	// before or after its authentication was checked.
	Auth wire.Standing
	// Dropped: the packet came from one of the primary's own addresses
	// (Config.Peers) and was dropped for this reason: the primary, or
	// someone at its address, sends but is not heard (refused.go).
	Dropped wire.DropReason
}

// LinkStats are the counters of one link.
type LinkStats struct {
	Received  uint64                     `json:"received"`
	Dropped   map[wire.DropReason]uint64 `json:"dropped,omitempty"`
	LastHeard time.Time                  `json:"last_heard,omitzero"`
	Epoch     uint64                     `json:"epoch,omitempty"`
	Interval  time.Duration              `json:"interval_ns,omitempty"`
	Sender    string                     `json:"sender,omitempty"`
	// Auth is how the last packet from the primary stood with the keys:
	// one accepted, or one from its own addresses refused for its
	// authentication; Accepted and Refused are the last of each.
	Auth     wire.Standing `json:"-"`
	Accepted wire.Standing `json:"-"`
	Refused  wire.Standing `json:"-"`
}

// Monitor receives heartbeats.
type Monitor struct {
	cfg   Config
	log   *slog.Logger
	socks []*socket
	snap  func() ([]netif.Interface, error)

	mu         sync.Mutex     // held by the methods named …Locked
	names      map[int]string // ifindex -> interface name
	lastLookup time.Time
	// lastDropLog: when each link's drops of a reason were last logged.
	lastDropLog map[dropKey]time.Time
	guard       *wire.ReplayGuard // one for every link: a packet counts once per link, and late on none
	epochs      chan struct{}     // a token when the guard takes on an epoch
	oldRuns     chan OldRun       // oldruns.go
	told        []runKey          // the runs oldRuns told of, the latest maxTold
	linkIndex   map[string]int
	stats       map[string]*LinkStats
	// vouched is the sender and epoch last accepted from one of
	// Config.Peers: a packet from PeerNets alone counts only as theirs,
	// so another pair's heartbeats on a shared subnet are not taken for
	// the primary's.
	vouched struct {
		sender string
		epoch  uint64
	}
	peers map[string]*linkPeers // what each link's kernel filter passes (peers.go)
	// refused is what each link remembers of the dropped packets from
	// the primary's own addresses it delivered (refused.go).
	refused map[string]*refusedLink
}

// newMonitor sets up everything but the sockets.
func newMonitor(cfg Config, log *slog.Logger) *Monitor {
	if cfg.LegacyMessage == "" {
		cfg.LegacyMessage = "heartbeat"
	}
	m := &Monitor{cfg: cfg, log: log, snap: cfg.Snapshot, names: map[int]string{},
		guard: wire.NewReplayGuard(cfg.Freshness), epochs: make(chan struct{}, 1), oldRuns: make(chan OldRun, maxTold), linkIndex: map[string]int{}, stats: map[string]*LinkStats{}, lastDropLog: map[dropKey]time.Time{}}
	m.guard.Restore(cfg.Replay, time.Now())
	if m.snap == nil {
		m.snap = netif.Snapshot
	}
	for _, l := range append(slices.Clone(cfg.Links), Unknown) {
		m.stats[l] = &LinkStats{Dropped: map[wire.DropReason]uint64{}}
	}
	for i, l := range cfg.Links {
		m.linkIndex[l] = i
	}
	m.lookup(0) // learn the interfaces now
	return m
}

// socket is one of the monitor's sockets (package linksock), or an Inbox
// in its place. A packet's link is told by its interface either way.
type socket struct {
	*linksock.Socket        // nil for an inbox
	inbox            *Inbox // not nil: a socket in memory (Fed)
}

// Listen opens the sockets (package linksock, with the kernel filter of
// the package doc on Linux): IPv4 always, IPv6 when the host has it.
func Listen(cfg Config, log *slog.Logger) (*Monitor, error) {
	m := newMonitor(cfg, log)
	socks, err := linksock.Listen(cfg.sockets(), log)
	if err != nil {
		return nil, err
	}
	for _, s := range socks {
		m.socks = append(m.socks, &socket{Socket: s})
	}
	return m, nil
}

// sockets is what linksock opens for c. Filter is what each socket's
// filter starts as, and stays for the socket for the other interfaces:
// only a link's own socket gets another (refilterLocked).
func (c Config) sockets() linksock.Config {
	return linksock.Config{Port: c.Port, Links: c.Links, Name: "heartbeat port", IPv6: true, Filter: c.filter}
}

// Close closes the sockets.
func (m *Monitor) Close() error {
	var errs []error
	for _, s := range m.socks {
		if s.inbox != nil {
			errs = append(errs, s.inbox.Close())
			continue
		}
		errs = append(errs, s.Conn.Close())
	}
	return errors.Join(errs...)
}

// Stats returns a copy of every link's counters.
func (m *Monitor) Stats() map[string]LinkStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]LinkStats, len(m.stats))
	for k, v := range m.stats {
		c := *v
		c.Dropped = make(map[wire.DropReason]uint64, len(v.Dropped))
		for r, n := range v.Dropped {
			c.Dropped[r] = n
		}
		c.Auth.Keys, c.Accepted.Keys, c.Refused.Keys = slices.Clone(v.Auth.Keys), slices.Clone(v.Accepted.Keys), slices.Clone(v.Refused.Keys)
		out[k] = c
	}
	return out
}

// Run reads packets until ctx ends and calls deliver with the packets
// accepted at one wakeup, and those from the primary's own addresses it
// dropped (Heard.Dropped, at most one each refusedEvery per link, and a
// few more when their kind changes: refused.go), in the goroutine that read them (one for each
// socket): a heartbeat reaches the state machine with no hand-off between
// goroutines, and a flood on one socket is read by its own goroutine, not
// in the way of the others. deliver must not keep the slice.
func (m *Monitor) Run(ctx context.Context, deliver func([]Heard)) error {
	go func() { <-ctx.Done(); m.Close() }()
	reads := make([]func() error, len(m.socks))
	for i, s := range m.socks {
		var loop linksock.ReadLoop
		if s.inbox != nil {
			loop = s.inbox.loop
		} else {
			loop = s.Loop()
		}
		reads[i] = func() error { return loop(m.batcher(deliver)) }
	}
	read := make(chan error, 1)
	go func() {
		read <- linksock.ReadAll(ctx, reads, func(i int, err error) {
			m.log.Error("a heartbeat socket failed; its link goes unheard until failoverd restarts", "link", m.socks[i].linkName(), "err", err)
		})
	}()
	return m.follow(read)
}

// follow binds each link's socket again once its interface was made
// again under the link's name (linksock.Follow), until the readers return
// (read: their error): bound to the old interface's index, the socket
// would hear no heartbeat on that link until failoverd restarts, and
// with every link made again failoverd would take a live primary's
// addresses. A re-bound socket keeps its kernel filter, the one its
// link's state asks for now (peers.go); the socket for the other
// interfaces gets its filter again with the links' new indexes to drop.
// The names of the interfaces are then looked up again at once, so that
// the new index counts as the link's from the first packet.
func (m *Monitor) follow(read <-chan error) error {
	var socks []*linksock.Socket
	for _, s := range m.socks {
		if s.Socket != nil {
			socks = append(socks, s.Socket)
		}
	}
	if len(socks) == 0 {
		return <-read // inboxes only: no interface to follow
	}
	return linksock.FollowUntil(read, m.cfg.sockets(), socks, func(links []string) {
		m.relearn()
		m.log.Warn("a link's interface was made again: the heartbeat port is bound to the new one", "links", links)
	}, func(err error) {
		m.log.Error("cannot bind the heartbeat port to a link's new interface: the primary's heartbeats on it go unheard", "err", err)
	})
}

// relearn forgets the interfaces' names and reads them again now.
func (m *Monitor) relearn() {
	m.mu.Lock()
	m.names = map[int]string{}
	m.lastLookup = time.Time{}
	m.mu.Unlock()
	m.lookup(0)
}

// linkName names the link of s in a message.
func (s *socket) linkName() string {
	if s.Socket == nil || s.Link == "" {
		return Unknown
	}
	return s.Link
}

// batcher makes the functions a read loop calls: each packet is
// accepted or dropped, and those accepted at one wakeup go to deliver
// together.
func (m *Monitor) batcher(deliver func([]Heard)) (linksock.PacketFunc, func()) {
	var heard []Heard
	return func(b []byte, ifindex int, from netip.Addr) {
			if h, ok := m.accept(b, ifindex, from.Unmap(), time.Now()); ok || h.Dropped != "" {
				heard = append(heard, h)
			}
		}, func() {
			if len(heard) > 0 {
				deliver(heard)
				clear(heard)
				heard = heard[:0]
			}
		}
}

// Drain reads what is queued on every socket now, without waiting, and
// delivers it as Run does. failoverd calls it before it decides that a
// link went silent: a heartbeat that arrived in time but waited in its
// queue while the process was busy (a machine short of CPU) still counts.
// It reads at most drainPackets from each socket, and stops taking more
// batches after drainTime (each socket gets its first batch): a flood
// that outruns the reader never lets a queue empty, and a decision that
// waited for it came only after the flood. A heartbeat held up by a busy
// process is near the front of its queue; one behind thousands of junk
// packets is the reader goroutine's to find, and until it does its link
// counts as silent, which such a flood can do to its own link only. On
// systems other than Linux it does nothing.
func (m *Monitor) Drain(deliver func([]Heard)) {
	until := time.Now().Add(drainTime)
	for _, s := range m.socks {
		each, done := m.batcher(deliver)
		var drain func(linksock.PacketFunc, func(), int, time.Time) (int, error)
		if s.inbox != nil {
			drain = s.inbox.drain
		} else {
			drain = s.Drain
		}
		if _, err := drain(each, done, drainPackets, until); err != nil && !errors.Is(err, net.ErrClosed) {
			m.log.Debug("drain", "err", err)
		}
	}
}

// The bounds of one Drain. 256 packets are a few tenths of a millisecond
// of tag checks; a millisecond is what a decision may wait for them.
const (
	drainPackets = 256
	drainTime    = time.Millisecond
)

// lookup returns the interface name of ifindex, re-reading the
// interfaces (at most once a second) for an index it does not know or
// knows by a name that is no link's: an interface renamed to a link's
// name (one the configuration named wrongly) is that link from then on.
func (m *Monitor) lookup(ifindex int) string {
	m.mu.Lock()
	name, ok := m.names[ifindex]
	stale := time.Since(m.lastLookup) >= time.Second
	m.mu.Unlock()
	if (ok && slices.Contains(m.cfg.Links, name)) || !stale {
		return name
	}
	ifs, err := m.snap()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastLookup = time.Now()
	if err != nil {
		m.log.Warn("cannot list interfaces", "err", err)
		return m.names[ifindex]
	}
	m.names = map[int]string{}
	for _, it := range ifs {
		m.names[it.Index] = it.Name
	}
	return m.names[ifindex]
}

// accept decides on one packet; it is the whole receive policy, so tests
// can drive it without sockets. ok says it was accepted; a packet from
// one of the primary's own addresses that was dropped comes back with
// Dropped set when it is to be delivered (refuseLocked).
func (m *Monitor) accept(b []byte, ifindex int, from netip.Addr, now time.Time) (h Heard, ok bool) {
	link := m.lookup(ifindex)
	if !slices.Contains(m.cfg.Links, link) {
		m.drop(Unknown, wire.DropUnknownLink, from, fmt.Errorf("arrived on %q, not a link", link))
		return Heard{}, false
	}
	named := slices.Contains(m.cfg.Peers, from)
	if !named && !slices.ContainsFunc(m.cfg.PeerNets, func(p netip.Prefix) bool { return p.Contains(from) }) {
		m.drop(link, wire.DropWrongPeer, from, errors.New("not the primary's address"))
		return Heard{}, false
	}
	if !named && !m.mayBeVouched(b) {
		m.drop(link, wire.DropWrongPeer, from, errNotVouched)
		return Heard{}, false
	}
	keys := m.cfg.Keyring()
	p, err := keys.Open(b)
	legacy := false
	if err != nil && m.cfg.Legacy && !keys.Enabled() && isLegacy(b, m.cfg.LegacyMessage) {
		p, err, legacy = wire.Packet{Type: wire.Heartbeat, Sender: from.String(), Message: m.cfg.LegacyMessage}, nil, true
	}
	auth, _ := keys.Stand(p, err, now)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.dropLocked(link, wire.ReasonOf(err), from, err)
		if !named {
			return Heard{}, false
		}
		if !auth.At.IsZero() {
			m.stats[link].Auth, m.stats[link].Refused = auth, auth
		}
		return m.refuseLocked(Heard{Link: link, From: from, At: now, Packet: p, Auth: auth, Dropped: wire.ReasonOf(err)})
	}
	if !named && (legacy || !m.vouchedLocked(p)) {
		m.dropLocked(link, wire.DropWrongPeer, from, errNotVouched)
		return Heard{}, false
	}
	if p.Type != wire.Heartbeat && p.Type != wire.Goodbye {
		err := fmt.Errorf("%w: a %s on the heartbeat port", wire.ErrWrongType, p.Type)
		m.dropLocked(link, wire.DropWrongType, from, err)
		if !named {
			return Heard{}, false
		}
		return m.refuseLocked(Heard{Link: link, From: from, At: now, Packet: p, Dropped: wire.DropWrongType})
	}
	if !legacy {
		adopted, _ := m.guard.Changes()
		if err := m.guard.Check(&p, m.linkIndex[link], now); err != nil {
			m.dropLocked(link, wire.ReasonOf(err), from, err)
			if named && errors.Is(err, wire.ErrRetired) {
				m.oldRunLocked(link, from, p, now)
			}
			if !named {
				return Heard{}, false
			}
			return m.refuseLocked(Heard{Link: link, From: from, At: now, Packet: p, Dropped: wire.ReasonOf(err)})
		}
		if again, _ := m.guard.Changes(); again != adopted {
			select {
			case m.epochs <- struct{}{}:
			default: // one token says it
			}
		}
	}
	// The original's bare text names no epoch (its sender is the source
	// address): it vouches for nothing and starts no epoch.
	vouches := named && !legacy
	newEpoch := vouches && !m.vouchedLocked(p)
	if vouches {
		m.vouched.sender, m.vouched.epoch = p.Sender, p.Epoch
	}
	st := m.stats[link]
	st.Received++
	st.LastHeard, st.Epoch, st.Interval, st.Sender, st.Auth, st.Accepted = now, p.Epoch, p.Interval, p.Sender, auth, auth
	m.heardLocked(link, from, named, newEpoch, p.Interval, now)
	return Heard{Link: link, From: from, At: now, Packet: p, Legacy: legacy, Auth: auth}, true
}

var errNotVouched = errors.New("from the link's subnet, but not the sender and epoch heard from the primary's own addresses")

// mayBeVouched says whether a packet from a link's subnet may be the
// vouched sender's and epoch's, before its tag is checked: a flood from
// the subnet costs a decode, not a tag check. A packet that does not
// decode is left to Open to count.
func (m *Monitor) mayBeVouched(b []byte) bool {
	p, err := wire.Decode(b)
	if err != nil {
		return true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.vouchedLocked(p)
}

// vouchedLocked says whether p names the sender and epoch last heard from
// one of Config.Peers.
func (m *Monitor) vouchedLocked(p wire.Packet) bool {
	return p.Sender == m.vouched.sender && p.Epoch == m.vouched.epoch
}

// ReplayMemory returns what the replay guard remembers, for a restart,
// and how many epochs it took on and packets it accepted so far: when
// neither count moved, neither did the records.
func (m *Monitor) ReplayMemory() (recs []wire.SenderRecord, adopted, accepted uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	adopted, accepted = m.guard.Changes()
	return m.guard.Records(), adopted, accepted
}

// EpochChanged receives when the replay guard took on an epoch since the
// last receive.
func (m *Monitor) EpochChanged() <-chan struct{} { return m.epochs }

// isLegacy: the original heartbeatd sent the bare -m text, maybe with a
// trailing NUL or newline.
func isLegacy(b []byte, msg string) bool {
	return strings.TrimRight(string(b), "\x00\r\n") == msg
}

func (m *Monitor) drop(link string, reason wire.DropReason, from netip.Addr, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dropLocked(link, reason, from, err)
}

// dropLocked counts a drop and logs it: the first of each link and
// reason as a warning, then (debug) at most once a second with the count,
// so that a flood of junk does not become a flood of log lines.
func (m *Monitor) dropLocked(link string, reason wire.DropReason, from netip.Addr, err error) {
	st := m.stats[link]
	st.Dropped[reason]++
	n := st.Dropped[reason]
	if n == 1 {
		m.log.Warn("dropped packet", "link", link, "reason", reason, "from", from, "err", err)
		return
	}
	key := dropKey{link, reason}
	if now := time.Now(); now.Sub(m.lastDropLog[key]) >= time.Second {
		m.lastDropLog[key] = now
		m.log.Debug("dropped packet", "link", link, "reason", reason, "from", from, "err", err, "dropped", n)
	}
}

type dropKey struct {
	link   string
	reason wire.DropReason
}
