package sim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/monitor"
	"github.com/ipfailover/ipfailover/internal/neighbor"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/standby"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// The lab's addresses (documentation ranges only).
var (
	privNet  = netip.MustParsePrefix("192.0.2.0/24")
	pubNet   = netip.MustParsePrefix("198.51.100.0/24")
	pPub     = netip.MustParseAddr("198.51.100.1")   // the primary's host address, taken over in host-address mode
	svcIP    = netip.MustParseAddr("198.51.100.100") // the service address, in service-address mode
	pPriv    = netip.MustParseAddr("192.0.2.1")
	cPub     = netip.MustParseAddr("198.51.100.10")
	aPriv    = netip.MustParseAddr("192.0.2.66")
	aPub     = netip.MustParseAddr("198.51.100.66")
	hbPort   = uint16(1694)
	sbPort   = uint16(standby.DefaultPort)
	linkPriv = "priv0"
	linkPub  = "pub0"
)

// cond is what one host's frames meet on one link: each direction of a
// link is the sender's own.
type cond struct {
	loss, dup     float64
	delay, jitter time.Duration
	rng           *rand.Rand
}

// link is a shared segment: every frame reaches every other port.
type link struct {
	name   string
	subnet netip.Prefix
	ports  []*port
	conds  map[string]*cond // by sending host
	cuts   int              // > 0: nothing crosses it
	// record: the last datagrams seen on each port (heartbeats and
	// failoverd's messages on the heartbeat port, the standbys'
	// announcements on the standby port), for replays.
	record map[uint16][][]byte
}

// port is a host's interface on a link.
type port struct {
	host  *host
	link  *link
	name  string
	index int
	mac   net.HardwareAddr
	addr  netip.Prefix        // the host's own address
	held  map[netip.Addr]bool // addresses added by failoverd
	dark  int                 // > 0: no carrier
	// cut > 0: the port is cut off from its link, carrier kept (a
	// switch port moved to another VLAN, a filter): nothing in or out.
	cut int
}

func (p *port) carrier() bool { return p.dark == 0 }

// answersFor says the port's host answers ARP for ip there now.
func (p *port) answersFor(ip netip.Addr) bool {
	return p.host.up() && p.carrier() && p.cut == 0 && (p.addr.Addr() == ip || p.held[ip])
}

// sock is a bound UDP socket of a process.
type sock struct {
	proc *proc
	addr netip.Addr // invalid: any address (broadcasts too)
	port uint16
	put  func(b []byte, ifindex int, from netip.AddrPort)
}

// proc is one run of a daemon: what it sends after it died goes nowhere.
type proc struct {
	host *host
	dead bool          // w.mu
	gone chan struct{} // closed when the process is stopped or killed
	// frozen: the process is stopped (SIGSTOP) or short of CPU; each of
	// its goroutines that read, ask and decide (timer expiries, the
	// asker, answers, carrier reports; the heartbeat reader stalls) waits
	// at its next call into the system until it thaws, then they all go
	// on at once, in the scheduler's order. Never where the daemon may
	// hold a lock: under synctest a goroutine waiting on a mutex stops
	// the simulated clock.
	frozen gate
	// starved: the asking goroutine alone waits after it sent its
	// questions, before it takes their answers and counts them.
	starved gate
}

func newProc(h *host) *proc { return &proc{host: h, gone: make(chan struct{})} }

// gate holds a process's goroutines while shut (w.mu).
type gate struct {
	shut   int
	opened chan struct{} // closed when shut falls to 0
}

func (g *gate) shutLocked() {
	if g.shut == 0 {
		g.opened = make(chan struct{})
	}
	g.shut++
}

func (g *gate) openLocked() {
	g.shut--
	if g.shut == 0 {
		close(g.opened)
	}
}

// pass waits until the gates are open or the process is gone.
func (pr *proc) pass(gs ...*gate) {
	w := pr.host.w
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, g := range gs {
		for g.shut > 0 {
			select {
			case <-pr.gone:
				return
			default:
			}
			ch := g.opened
			w.mu.Unlock()
			select {
			case <-ch:
			case <-pr.gone:
			}
			w.mu.Lock()
		}
	}
}

// host is a simulated machine.
type host struct {
	w     *World
	name  string
	ports []*port
	offs  int // > 0: powered off
	hangs int // > 0: hung, nothing in or out, carrier kept
	socks []*sock
	// hear is told of every ARP frame from another host naming an
	// address as its sender (a reply, a gratuitous ARP).
	askers   []*asker
	carriers []func(name string, up bool)
	cache    map[netip.Addr]net.HardwareAddr // the client's ARP cache
	cacheAt  map[netip.Addr]time.Time
}

func (h *host) up() bool { return h.offs == 0 && h.hangs == 0 }

func (h *host) port(name string) *port {
	for _, p := range h.ports {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (h *host) portIndex(i int) *port {
	for _, p := range h.ports {
		if p.index == i {
			return p
		}
	}
	return nil
}

// route is the port whose subnet holds dst.
func (h *host) route(dst netip.Addr) *port {
	for _, p := range h.ports {
		if p.link.subnet.Contains(dst) {
			return p
		}
	}
	return nil
}

// interfaces is the host's interfaces as netif lists them, without the
// addresses failoverd added.
func (h *host) interfaces() []netif.Interface {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	var out []netif.Interface
	for _, p := range h.ports {
		out = append(out, netif.Interface{Name: p.name, Index: p.index, Up: true, Running: p.carrier(), MAC: p.mac,
			Addrs: []netif.Addr{netif.NewAddr(p.addr)}})
	}
	return out
}

// node is one standby: its host, the failoverd that runs there and what
// outlives it, and what the checker knows of it (w.mu, but fo and stops,
// which are the runner's).
type node struct {
	h    *host
	name string // FAILOVER_NODE_NAME, the host's name
	prio int    // FAILOVER_PRIORITY
	cfg  *config.Config

	fo     *running // the running failoverd (the runner's)
	stops  int      // > 0: failoverd is kept stopped (the runner's)
	replay []wire.SenderRecord
	inbox  *monitor.Inbox // the running failoverd's heartbeat socket
	asker  *asker         // the running failoverd's asker
	proc   *proc          // the running failoverd
	stalls int            // > 0: failoverd's readers stall
	vetoes int            // > 0: failoverd's Test hook fails
	hooks  *rand.Rand

	nodeCheck
}

// self is the node as the standbys rank it.
func (n *node) self() standby.Self { return standby.Self{Name: n.name, Priority: n.prio} }

// above says n ranks above o (standby.Above: the priority, then the name).
func (n *node) above(o *node) bool { return standby.Above(n.self(), o.self()) }

// World is the simulated network and its hosts. mu guards all of it.
type World struct {
	seed  uint64
	mu    sync.Mutex
	start time.Time
	links map[string]*link
	hosts map[string]*host
	p     *host   // the primary
	nodes []*node // the standbys: nodes[0] on the host named secondary
	// addr is the address failoverd takes over: the primary's own in
	// host-address mode, heartbeatd's service address in
	// service-address mode (svcIP, held on the primary while its checks
	// pass).
	addr netip.Addr
	// checksFail > 0: the primary's service checks fail.
	checksFail int
	c          *host // the client
	a          *host // the attacker, on both links
	tl         *timeline
	check      *checker

	arb *etcd // the arbiter; nil: none

	hbProc *proc // the running heartbeatd
	// carrierDelay: failoverd's carrier watch reports each change up
	// to this late (its goroutine short of CPU, a busy netlink socket).
	carrierDelay time.Duration
	carrierRNG   *rand.Rand
	checkRNG     *rand.Rand
}

// newWorld builds the lab: the primary, standbys standbys (1 to 3:
// secondary, standby2, standby3), the client and the attacker.
func newWorld(seed uint64, tl *timeline, standbys int) *World {
	w := &World{seed: seed, start: time.Now(), links: map[string]*link{}, hosts: map[string]*host{}, tl: tl}
	w.links[linkPriv] = &link{name: linkPriv, subnet: privNet, conds: map[string]*cond{}, record: map[uint16][][]byte{}}
	w.links[linkPub] = &link{name: linkPub, subnet: pubNet, conds: map[string]*cond{}, record: map[uint16][][]byte{}}
	mk := func(name string) *host {
		h := &host{w: w, name: name, cache: map[netip.Addr]net.HardwareAddr{}, cacheAt: map[netip.Addr]time.Time{}}
		w.hosts[name] = h
		return h
	}
	w.p, w.c, w.a = mk("primary"), mk("client"), mk("attacker")
	attach := func(h *host, l string, idx int, addr netip.Addr, hostByte byte) {
		lk := w.links[l]
		p := &port{host: h, link: lk, name: l, index: idx, addr: netip.PrefixFrom(addr, lk.subnet.Bits()), held: map[netip.Addr]bool{},
			mac: net.HardwareAddr{2, 0, 0x5e, hostByte, byte(idx), 1}}
		h.ports = append(h.ports, p)
		lk.ports = append(lk.ports, p)
	}
	attach(w.p, linkPriv, 2, pPriv, 1)
	attach(w.p, linkPub, 3, pPub, 1)
	for i := range standbys {
		// secondary at .2 (MAC byte 2), standby2 at .3 (5), standby3 at .4 (6).
		name, mac := "secondary", byte(2)
		if i > 0 {
			name, mac = fmt.Sprintf("standby%d", i+1), byte(4+i)
		}
		h := mk(name)
		attach(h, linkPriv, 2, netip.AddrFrom4([4]byte{192, 0, 2, byte(2 + i)}), mac)
		attach(h, linkPub, 3, netip.AddrFrom4([4]byte{198, 51, 100, byte(2 + i)}), mac)
		w.nodes = append(w.nodes, &node{h: h, name: name, hooks: w.rng("hooks", name), nodeCheck: newNodeCheck()})
	}
	attach(w.c, linkPub, 2, cPub, 3)
	attach(w.a, linkPriv, 2, aPriv, 4)
	attach(w.a, linkPub, 3, aPub, 4)
	for _, l := range w.links {
		for _, p := range l.ports {
			l.conds[p.host.name] = &cond{rng: w.rng("cond", l.name, p.host.name), delay: 200 * time.Microsecond}
		}
	}
	w.checkRNG = w.rng("checks")
	w.carrierRNG = w.rng("carrier")
	return w
}

// rng is a generator of its own for one flow of draws.
func (w *World) rng(parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(w.seed, h.Sum64()))
}

// since is the simulated time since the start.
func (w *World) since() time.Duration { return time.Since(w.start) }

// transmit sends one frame from port from: deliver runs at each other
// port's arrival, with w.mu held, for each copy that is not lost.
func (w *World) transmitLocked(from *port, to func(*port) bool, deliver func(q *port)) {
	if !from.host.up() || !from.carrier() || from.cut > 0 {
		return
	}
	l := from.link
	c := l.conds[from.host.name]
	for _, q := range l.ports {
		if q == from || !to(q) {
			continue
		}
		if l.cuts > 0 || q.cut > 0 || c.rng.Float64() < c.loss {
			continue
		}
		copies := 1
		if c.dup > 0 && c.rng.Float64() < c.dup {
			copies = 2
		}
		for range copies {
			d := c.delay
			if c.jitter > 0 {
				d += time.Duration(c.rng.Int64N(int64(c.jitter)))
			}
			time.AfterFunc(d, func() {
				w.mu.Lock()
				defer w.mu.Unlock()
				if !q.host.up() || !q.carrier() || l.cuts > 0 || q.cut > 0 || from.cut > 0 {
					return
				}
				deliver(q)
			})
		}
	}
}

// sendUDP sends b from proc's host to dst, out of the interface ifindex
// (0: by the destination's subnet).
func (w *World) sendUDP(pr *proc, b []byte, dst netip.AddrPort, ifindex int, src netip.Addr) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if pr.dead {
		return
	}
	h := pr.host
	var from *port
	if ifindex != 0 {
		from = h.portIndex(ifindex)
	} else {
		from = h.route(dst.Addr())
	}
	if from == nil {
		return
	}
	if !src.IsValid() {
		src = from.addr.Addr()
	}
	b = slices.Clone(b)
	bcast := netif.BroadcastOf(from.link.subnet)
	if from.host != w.a {
		rec := append(from.link.record[dst.Port()], b)
		if len(rec) > 64 {
			rec = rec[1:]
		}
		from.link.record[dst.Port()] = rec
	}
	w.transmitLocked(from, func(q *port) bool {
		return dst.Addr() == bcast || q.addr.Addr() == dst.Addr() || q.held[dst.Addr()]
	}, func(q *port) {
		for _, s := range q.host.socks {
			if s.proc.dead || s.port != dst.Port() {
				continue
			}
			if s.addr.IsValid() && s.addr != dst.Addr() {
				continue
			}
			if n := w.nodeOf(s.proc); pr == w.hbProc && n != nil && q.link.name == linkPriv {
				n.vouched = true // failoverd may vouch for this run now
			}
			s.put(b, q.index, netip.AddrPortFrom(src, dst.Port()))
		}
	})
}

// nodeOf is the standby whose running failoverd pr is; nil: none.
func (w *World) nodeOf(pr *proc) *node {
	for _, n := range w.nodes {
		if n.proc == pr {
			return n
		}
	}
	return nil
}

// arpAsk sends an ARP request for ip out of from; every host that
// answers for it there replies.
func (w *World) arpAskLocked(from *port, ip netip.Addr) {
	w.transmitLocked(from, func(*port) bool { return true }, func(q *port) {
		if !q.answersFor(ip) {
			return
		}
		w.arpTellLocked(q, ip, from)
	})
}

// arpTell sends an ARP frame from port from naming ip as its sender: a
// reply to one port (to), or to all (to nil: a gratuitous ARP).
func (w *World) arpTellLocked(from *port, ip netip.Addr, to *port) {
	mac := from.mac
	w.transmitLocked(from, func(q *port) bool { return to == nil || q == to }, func(q *port) {
		q.host.hearARPLocked(q, ip, mac)
	})
}

// hearARP: an ARP frame naming ip at mac arrived at q.
func (h *host) hearARPLocked(q *port, ip netip.Addr, mac net.HardwareAddr) {
	if h == h.w.c {
		h.cache[ip] = mac
		h.cacheAt[ip] = time.Now()
		return
	}
	for _, a := range h.askers {
		a.heardLocked(neighbor.Answer{At: time.Now(), Addr: ip, Interface: q.name, MAC: mac})
	}
}

// setCarrier changes a port's dark count and tells the host's watchers
// of a change.
func (w *World) setCarrierLocked(p *port, dark bool) {
	was := p.carrier()
	if dark {
		p.dark++
	} else {
		p.dark--
	}
	if now := p.carrier(); now != was {
		w.tl.add("%s %s carrier %v", p.host.name, p.name, now)
		for _, f := range p.host.carriers {
			f(p.name, now)
		}
	}
}
