package heartbeat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/ipfailover/ipfailover/internal/fdtimer"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// Options are what the sender needs of the configuration.
type Options struct {
	Targets  []netip.Addr
	Port     uint16
	Interval time.Duration
	Message  string
	Node     string // sender identity
	Keyring  *wire.Keyring
}

// Conn sends one datagram to dst out of interface ifindex from src. A zero
// ifindex or an invalid src leaves the choice to the routing table.
type Conn interface {
	Send(b []byte, dst netip.AddrPort, ifindex int, src netip.Addr) error
	Close() error
}

// refreshEvery is how often the sender re-reads the interfaces: a pulled
// cable does not make sends fail, so the sender looks for lost carrier
// and changed addresses itself, at most this often. While a link is
// faulty it looks every refreshFaulty, so that heartbeats resume within
// moments of the cable coming back: failoverd gives a returning primary
// its address back as soon as it answers for it, and then expects its
// heartbeats.
const (
	refreshEvery  = time.Second
	refreshFaulty = 50 * time.Millisecond
)

// Target is one heartbeat target and what the sender knows of the way
// to it: the link (interface) it leaves by, and how sends there went.
type Target struct {
	Addr   netip.Addr
	Route  netif.Route
	Err    error // last send error; nil while the link works
	Sent   uint64
	Failed uint64 // sends that failed
	// dark: the last send failed for want of a way out (the interface
	// down or without carrier, no route to the target's subnet).
	dark bool
}

// usable says the target's way out looks usable: its interface up with
// carrier, and the target's subnet there.
func (t *Target) usable() bool {
	return t.Route.Interface.Up && t.Route.Interface.Running && t.Route.Kind != netif.NoLink
}

// HardwareAddr is what the heartbeats to the target say is this host's
// MAC: its interface's, when the target is on the interface's subnet
// (broadcast or a host there); nil for a target behind a router or one of
// this host's own addresses, whose packets reach the peer from no MAC of
// ours.
func (t Target) HardwareAddr() net.HardwareAddr {
	if t.Route.Kind != netif.Broadcast && t.Route.Kind != netif.Unicast {
		return nil
	}
	if len(t.Route.Interface.MAC) > wire.MaxHardwareAddrLen {
		return nil // not a kind of link failoverd asks by ARP or NDP
	}
	return t.Route.Interface.MAC
}

// Name is the interface the target is reached by, or "-" for a target on
// no connected subnet.
func (t Target) Name() string {
	if t.Route.Kind == netif.NoLink {
		return "-"
	}
	return t.Route.Interface.Name
}

// Sender is heartbeatd's sender loop.
type Sender struct {
	// beforeGoodbye, when set, runs when Run stops, before the goodbye
	// goes out (SetBeforeGoodbye).
	beforeGoodbye func()

	log      *slog.Logger
	conn     Conn
	snapshot func() ([]netif.Interface, error)
	now      func() time.Time
	ticker   func(first, interval time.Duration) fdtimer.Timer // fdtimer.New; tests use Go's timers

	epoch uint64
	seq   uint64

	changed chan struct{} // options were replaced, or a link came back

	// Carrier, when set, reports the links' carrier at every change
	// (carrier.Watch): a link whose carrier comes back is beaten
	// on at once.
	Carrier func(ctx context.Context, names []string, report func(name string, up bool)) error

	mu          sync.Mutex // guards opts and targets, read by Targets
	opts        Options
	targets     []*Target
	lastRefresh time.Time
	// unhealthy, while set, is what the heartbeats say instead of the
	// message: the service checks fail; yielded: the service addresses
	// were given up for it.
	unhealthy string
	yielded   bool
}

// SetHealth sets what the heartbeats say of the service from the next
// one, which goes out at once: healthy, or unhealthy as detail says
// (instead of the -m message), and whether the service addresses were
// given up for it (heartbeatd removes them first, as before a goodbye;
// failoverd takes over only what was given up).
func (s *Sender) SetHealth(healthy bool, detail string, yielded bool) {
	s.mu.Lock()
	s.yielded = !healthy && yielded
	if healthy {
		s.unhealthy = ""
	} else {
		s.unhealthy = detail
		if detail == "" {
			s.unhealthy = "service checks fail"
		}
	}
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default: // Run has a change pending already
	}
}

// UseGoTimers makes the sender tick with Go's own timers instead of a
// timerfd, so that testing/synctest's fake clock drives it (a
// simulation); call it before Run.
func (s *Sender) UseGoTimers() { s.ticker = fdtimer.NewGo }

// SetBeforeGoodbye sets what runs when Run stops, before the goodbye goes
// out: heartbeatd removes its service addresses there, so that failoverd
// finds them free the moment it hears the goodbye. Call it before Run.
func (s *Sender) SetBeforeGoodbye(f func()) { s.beforeGoodbye = f }

// LinkBack says a link's interface has carrier again: Run re-reads the
// interfaces and beats at once, so that a primary whose cable is back
// (which answers ARP at once) is heard without waiting for its next tick.
func (s *Sender) LinkBack() {
	s.mu.Lock()
	s.lastRefresh = time.Time{}
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// watchCarrier feeds LinkBack from Carrier until ctx ends, watching
// again a second after a failure (logged once).
func (s *Sender) watchCarrier(ctx context.Context) {
	var names []string
	for _, it := range s.Interfaces() {
		names = append(names, it.Name)
	}
	logged := false
	for ctx.Err() == nil {
		err := s.Carrier(ctx, names, func(_ string, up bool) {
			if up {
				s.LinkBack()
			}
		})
		if ctx.Err() != nil || errors.Is(err, errors.ErrUnsupported) {
			return
		}
		if !logged {
			logged = true
			s.log.Warn("cannot watch the links' carrier; a link that comes back is beaten on at the next tick", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// New returns a sender over conn. snapshot lists the host's interfaces
// (netif.Snapshot in the daemon).
func New(opts Options, conn Conn, snapshot func() ([]netif.Interface, error), log *slog.Logger) (*Sender, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	var e [8]byte
	if _, err := rand.Read(e[:]); err != nil {
		return nil, fmt.Errorf("epoch: %w", err)
	}
	s := &Sender{
		log: log, conn: conn, snapshot: snapshot, now: time.Now, ticker: fdtimer.New,
		epoch:   binary.BigEndian.Uint64(e[:]),
		changed: make(chan struct{}, 1),
	}
	s.setOptions(opts)
	return s, nil
}

func (o Options) check() error {
	if len(o.Targets) == 0 {
		return errors.New("heartbeat: no targets")
	}
	if o.Interval <= 0 {
		return errors.New("heartbeat: interval must be positive")
	}
	if o.Keyring == nil {
		return errors.New("heartbeat: nil keyring")
	}
	// Options that cannot be encoded would leave the sender silent while
	// it looks alive; refuse them here.
	p := wire.Packet{Type: wire.Heartbeat, Sender: o.Node, Interval: o.Interval, Message: o.Message}
	if _, err := o.Keyring.Seal(&p); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// setOptions installs o and finds the route of every target at once, so
// that Targets tells the caller where heartbeats will leave.
func (s *Sender) setOptions(o Options) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts = o
	s.targets = make([]*Target, len(o.Targets))
	for i, t := range o.Targets {
		s.targets[i] = &Target{Addr: t}
	}
	s.lastRefresh = time.Time{}
	s.refreshRoutes(s.now())
}

func (s *Sender) interval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.Interval
}

// Epoch is the random number that identifies this sender process.
func (s *Sender) Epoch() uint64 { return s.epoch }

// Targets returns a copy of the targets and their state.
func (s *Sender) Targets() []Target {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Target, len(s.targets))
	for i, l := range s.targets {
		out[i] = *l
	}
	return out
}

// Interfaces are the interfaces heartbeats leave by, one for each target
// on a connected subnet.
func (s *Sender) Interfaces() []netif.Interface {
	var out []netif.Interface
	for _, l := range s.Targets() {
		if l.Route.Kind != netif.NoLink {
			out = append(out, l.Route.Interface)
		}
	}
	return out
}

// Reload replaces the options and routes at once; Run beats with them
// straight away and keeps the new interval.
func (s *Sender) Reload(o Options) error {
	if err := o.check(); err != nil {
		return err
	}
	s.setOptions(o)
	select {
	case s.changed <- struct{}{}:
	default: // Run has a change pending already
	}
	return nil
}

// Run sends a heartbeat at once and then every interval until ctx ends;
// then it sends goodbye on every link and returns. When alive is not nil
// the loop calls it after each beat and at least every aliveEvery, so a
// watchdog that it pings sees the loop itself, whatever the interval.
func (s *Sender) Run(ctx context.Context, alive func(), aliveEvery time.Duration) error {
	if alive == nil {
		alive = func() {}
	}
	if s.Carrier != nil {
		go s.watchCarrier(ctx)
	}
	var aliveTick <-chan time.Time
	if aliveEvery > 0 {
		t := time.NewTicker(aliveEvery)
		defer t.Stop()
		aliveTick = t.C
	}
	s.beat(wire.Heartbeat)
	alive()
	current := s.interval()
	t := s.ticker(current, current)
	defer t.Stop()
	// While a link is faulty, it is looked at every refreshFaulty and
	// beaten on the moment it works again, not at the next tick: a
	// primary whose cable is back answers ARP at once, and failoverd
	// gives it its addresses back only on a heartbeat.
	// A beat that does not clear the fault doubles the wait before the
	// next (a link the kernel keeps refusing is not beaten on 20 times a
	// second), up to the interval.
	var retry <-chan time.Time
	retryEvery := refreshFaulty
	for {
		if retry == nil && s.faulty() {
			retry = time.After(retryEvery)
		}
		select {
		case <-retry:
			retry = nil
			if !s.recovered() {
				continue
			}
			s.beat(wire.Heartbeat)
			if s.faulty() {
				retryEvery = min(2*retryEvery, max(current, refreshFaulty))
			} else {
				retryEvery = refreshFaulty
			}
		case <-ctx.Done():
			if s.beforeGoodbye != nil {
				s.beforeGoodbye()
			}
			s.beat(wire.Goodbye)
			return nil
		case <-aliveTick:
		case <-s.changed:
			if iv := s.interval(); iv != current {
				current = iv
				t.Reset(iv, iv)
			}
			s.beat(wire.Heartbeat)
		case <-t.C():
			s.beat(wire.Heartbeat)
		}
		alive()
		// Yield once per beat. A goroutine woken by a timer carries on
		// its predecessor's time slice, so to the Go runtime's monitor
		// thread this loop looks like one goroutine that never stops
		// running; every 10 ms it would preempt it and then poll every
		// 20 µs for a while. At a 10 ms interval that polling was most
		// of heartbeatd's CPU time; yielding starts a fresh slice.
		runtime.Gosched()
	}
}

// beat sends one packet of type typ to every target: one sequence
// number, and on each link the MAC it leaves by.
func (s *Sender) beat(typ wire.Type) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.refreshRoutes(now)
	s.seq++
	p := wire.Packet{
		Type: typ, Sender: s.opts.Node, Epoch: s.epoch, Seq: s.seq,
		Interval: s.opts.Interval, SentAt: now, Message: s.opts.Message,
	}
	if s.unhealthy != "" && typ == wire.Heartbeat {
		p.Unhealthy, p.Yielded, p.Message = true, s.yielded, s.unhealthy
	}
	var b []byte
	for i, l := range s.targets {
		// A link whose MAC is the previous link's (none, behind a
		// router) sends the same bytes: no second HMAC.
		if hw := l.HardwareAddr(); i == 0 || !bytes.Equal(hw, p.HardwareAddr) {
			p.HardwareAddr = hw
			if b = s.seal(&p); b == nil {
				return
			}
		}
		err := s.send(l, b)
		if err != nil && l.Err == nil {
			s.log.Warn("heartbeat send failed; will keep trying", "link", l.Name(), "target", l.Addr, "err", err)
		} else if err == nil && l.Err != nil {
			s.log.Info("heartbeat send works again", "link", l.Name(), "target", l.Addr, "src", l.Route.Addr.Prefix.Addr())
		}
		l.Err = err
		l.dark = err != nil && (!l.usable() || errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.ENETDOWN))
		if err == nil {
			l.Sent++
		} else {
			l.Failed++
		}
	}
	if typ == wire.Goodbye {
		s.log.Info("sent goodbye", "links", len(s.targets), "seq", s.seq)
	}
}

// seal encodes p; nil when it cannot, which it logs.
func (s *Sender) seal(p *wire.Packet) []byte {
	b, err := s.opts.Keyring.Seal(p)
	if err != nil && p.Unhealthy {
		// Never silence over a check's words: say unhealthy plainly.
		p.Message = "service checks fail"
		b, err = s.opts.Keyring.Seal(p)
	}
	if err != nil {
		// Options were checked at load; this is a bug, not a link fault.
		s.log.Error("cannot encode heartbeat", "err", err)
		return nil
	}
	return b
}

func (s *Sender) send(l *Target, b []byte) error {
	dst := netip.AddrPortFrom(l.Addr, s.opts.Port)
	if l.Route.Kind == netif.NoLink {
		// Not on a connected subnet: a unicast target behind a router.
		return s.conn.Send(b, dst, 0, netip.Addr{})
	}
	if !l.Route.Interface.Up {
		return fmt.Errorf("interface %s is down", l.Route.Interface.Name)
	}
	if !l.Route.Interface.Running {
		// Handed to the kernel all the same: it drops the packet while
		// the carrier is gone, and sends it the moment it is back, where
		// the interface's running flag may follow up to a second later
		// (the kernel's link watch). The link still counts as failing.
		_ = s.conn.Send(b, dst, l.Route.Interface.Index, l.Route.Addr.Prefix.Addr())
		return fmt.Errorf("interface %s has no carrier (cable out, or the far end down)", l.Route.Interface.Name)
	}
	return s.conn.Send(b, dst, l.Route.Interface.Index, l.Route.Addr.Prefix.Addr())
}

// faulty says some link's last send failed.
func (s *Sender) faulty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.targets, func(l *Target) bool { return l.Err != nil })
}

// recovered re-reads the interfaces (at most every refreshFaulty) and
// says a link that failed for want of a way out has one again. (A link
// that fails otherwise waits for the next tick.)
func (s *Sender) recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(s.targets, func(l *Target) bool { return l.dark }) {
		return false
	}
	s.refreshRoutes(s.now())
	return slices.ContainsFunc(s.targets, func(l *Target) bool { return l.dark && l.usable() })
}

// refreshRoutes re-reads the interfaces at most every refreshEvery;
// other beats touch no netlink.
func (s *Sender) refreshRoutes(now time.Time) {
	every := refreshEvery
	if slices.ContainsFunc(s.targets, func(l *Target) bool { return l.Err != nil }) {
		every = refreshFaulty
	}
	if now.Sub(s.lastRefresh) < every {
		return
	}
	s.lastRefresh = now
	ifs, err := s.snapshot()
	if err != nil {
		s.log.Warn("cannot list interfaces", "err", err)
		return
	}
	for _, l := range s.targets {
		r := netif.Find(ifs, l.Addr)
		if r.Interface.Index != l.Route.Interface.Index || r.Addr != l.Route.Addr {
			s.log.Debug("route", "target", l.Addr, "link", r.Interface.Name, "src", r.Addr.Prefix.Addr(), "up", r.Interface.Up)
		}
		l.Route = r
	}
}
