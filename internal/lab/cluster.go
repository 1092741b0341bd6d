package lab

import (
	"os/exec"
	"strconv"
	"sync"
	"testing"
)

// The management segment of a cluster lab (documentation range only).
const (
	MgmtNet       = "/24"
	MgmtBroadcast = "203.0.113.255"
)

// PrivAddr is server n's private address (n from 1: the primary is 1, the
// standbys 2, 3, ...), as the Pair's Server1Priv and Server2Priv.
func PrivAddr(n int) string { return "192.0.2." + strconv.Itoa(n) }

// PubAddr is server n's public address, as the Pair's Server1Pub and
// Server2Pub: PubAddr(1) is the primary's, the one failover moves.
func PubAddr(n int) string { return "198.51.100." + strconv.Itoa(n) }

// MgmtAddr is server n's management address.
func MgmtAddr(n int) string { return "203.0.113." + strconv.Itoa(n) }

// EtcdAddr is etcd member n's address (n from 1) on the management
// segment: 203.0.113.201 and up, clear of the servers'.
func EtcdAddr(n int) string { return "203.0.113." + strconv.Itoa(200+n) }

// Segment is one network of a cluster lab: a bridge in the switch
// namespace that every host on it is plugged into.
type Segment int

const (
	// Public is br0: the servers' pub0 and the client's eth0. Heartbeats,
	// the client's traffic and address announcements cross it.
	Public Segment = iota
	// Private is br1: the servers' priv0. Heartbeats and standby
	// announcements cross it. A bridge, not a cable: with several
	// standbys each sees the others there.
	Private
	// Management is br2: the servers' mgmt0 (when asked for) and the etcd
	// members'. The arbiter's traffic and etcd's own cross it.
	Management
)

var segments = []Segment{Public, Private, Management}

// bridge is the segment's bridge in the switch namespace.
func (s Segment) bridge() string { return "br" + strconv.Itoa(int(s)) }

// String names the segment as the hosts' devices do.
func (s Segment) String() string { return [...]string{"pub", "priv", "mgmt"}[s] }

// Host is a namespace of a cluster lab: a server, the client or an etcd
// member, with its legs on the segments.
type Host struct {
	*NS
	// Short is the name the lab gives it (s1, s2, ..., cl, e1, e2, e3):
	// its namespace is ipfo-<lab id>-<Short>, its switch port on the
	// public segment is Short, on the private Short+"p", on the
	// management Short+"m".
	Short string
	// Pub, Priv and Mgmt are its addresses on each segment, "" where it
	// has no leg.
	Pub, Priv, Mgmt string
	legs            map[Segment]leg
}

// leg is a host's link to a segment: its device and the switch's port.
type leg struct{ dev, port string }

// Dev is the host's device on s (pub0, priv0, mgmt0; the client's eth0),
// or "" when it has no leg there.
func (h *Host) Dev(s Segment) string { return h.legs[s].dev }

// ClusterOptions shape a cluster lab.
type ClusterOptions struct {
	// Standbys is how many servers watch the primary (1 to 98).
	Standbys int
	// Management gives every server a management leg (mgmt0). Etcd
	// implies it.
	Management bool
	// Etcd starts three etcd members on the management segment, healthy
	// when NewCluster returns.
	Etcd bool
}

// Cluster is the lab of several standbys: a primary and its standbys, each
// on a public, a private and (optionally) a management bridge, all three
// bridges in one switch namespace, a client on the public bridge and
// (optionally) three etcd members on the management bridge.
//
//	client ── eth0 ─┐
//	s1 ─────── pub0 ─┼─ br0 (public)
//	s2, s3 ... pub0 ─┘
//	s1 ────── priv0 ─┬─ br1 (private)
//	s2, s3 ... priv0 ┘
//	s1 ────── mgmt0 ─┬─ br2 (management)
//	s2, s3 ... mgmt0 ┤
//	e1, e2, e3 mgmt0 ┘
//
// Server n (s1 the primary, then the standbys) has PubAddr(n),
// PrivAddr(n) and MgmtAddr(n); the client ClientAddr; member n
// EtcdAddr(n). Server 1 and 2 have the Pair's addresses and device names,
// so configurations written for the Pair serve here too.
type Cluster struct {
	Lab    *Lab
	Switch *NS
	// Servers are the primary then the standbys, in order of their
	// numbers: Servers[i] is s<i+1>.
	Servers  []*Host
	Primary  *Host   // Servers[0]
	Standbys []*Host // Servers[1:]
	Client   *Host
	Etcd     *Etcd // nil unless ClusterOptions.Etcd

	t       testing.TB
	mu      sync.Mutex
	cuts    map[[2]*Host]bool // the host pairs cut apart, each pair once
	cutMade bool              // the cut table exists in the switch
}

// NewCluster builds the topology (and starts etcd when asked); every
// namespace and process is removed when the test ends. It skips t
// without root, ip or nft, and with Etcd without etcd and etcdctl.
func NewCluster(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	if o.Standbys < 1 || o.Standbys > 98 { // server 100 would have the client's address
		t.Fatalf("a cluster lab has 1 to 98 standbys, not %d", o.Standbys)
	}
	if o.Etcd {
		RequireEtcd(t)
	} else {
		requireNft(t)
	}
	l := New(t)
	c := &Cluster{Lab: l, Switch: l.Netns("sw"), t: t, cuts: map[[2]*Host]bool{}}
	mgmt := o.Management || o.Etcd
	for _, s := range segments {
		if s != Management || mgmt {
			l.Bridge(c.Switch, s.bridge())
		}
	}
	for n := 1; n <= 1+o.Standbys; n++ {
		h := c.host("s" + strconv.Itoa(n))
		c.plug(h, Public, "pub0", PubAddr(n))
		c.plug(h, Private, "priv0", PrivAddr(n))
		if mgmt {
			c.plug(h, Management, "mgmt0", MgmtAddr(n))
		}
		c.Servers = append(c.Servers, h)
	}
	c.Primary, c.Standbys = c.Servers[0], c.Servers[1:]
	c.Client = c.host("cl")
	c.plug(c.Client, Public, "eth0", ClientAddr)
	quietClient(c.Client.NS, "eth0")
	if o.Etcd {
		c.Etcd = c.startEtcd()
	}
	return c
}

// host creates a host's namespace.
func (c *Cluster) host(short string) *Host {
	c.t.Helper()
	return &Host{NS: c.Lab.Netns(short), Short: short, legs: map[Segment]leg{}}
}

// plug gives h a leg named dev on s with the address addr (its /24).
func (c *Cluster) plug(h *Host, s Segment, dev, addr string) {
	c.t.Helper()
	port := h.Short + [...]string{"", "p", "m"}[s]
	c.Lab.Plug(h.NS, dev, c.Switch, port, s.bridge())
	h.NS.Addr(dev, addr+[...]string{PubNet, PrivNet, MgmtNet}[s])
	h.legs[s] = leg{dev, port}
	switch s {
	case Public:
		h.Pub = addr
	case Private:
		h.Priv = addr
	case Management:
		h.Mgmt = addr
	}
}

// Hosts are every host of the lab: the servers, the client, the etcd
// members.
func (c *Cluster) Hosts() []*Host {
	hs := append(append([]*Host{}, c.Servers...), c.Client)
	if c.Etcd != nil {
		for _, m := range c.Etcd.Members {
			hs = append(hs, m.Host)
		}
	}
	return hs
}

// Others are every host of the lab but hs.
func (c *Cluster) Others(hs ...*Host) []*Host {
	var out []*Host
	for _, h := range c.Hosts() {
		if !contains(hs, h) {
			out = append(out, h)
		}
	}
	return out
}

func contains(hs []*Host, h *Host) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

// links are h's switch ports on segs.
func (h *Host) links(sw *NS, segs []Segment) []nsLink {
	var ls []nsLink
	for _, s := range segs {
		if l, ok := h.legs[s]; ok {
			ls = append(ls, nsLink{sw, l.port})
		}
	}
	return ls
}

// LinksDown pulls h's cables on segs at the switch, one netlink message
// after the other, microseconds apart: h sees no carrier there, the
// others on the segment keep theirs (a switch between them, unlike the
// Pair's private cable).
func (c *Cluster) LinksDown(h *Host, segs ...Segment) {
	if err := setLinks(false, h.links(c.Switch, segs)...); err != nil {
		c.t.Fatalf("links of %s down: %v", h.Name, err)
	}
}

// LinksUp puts them back.
func (c *Cluster) LinksUp(h *Host, segs ...Segment) {
	if err := setLinks(true, h.links(c.Switch, segs)...); err != nil {
		c.t.Fatalf("links of %s up: %v", h.Name, err)
	}
}

// CutLinks pulls h's heartbeat links (public and private) at the switch:
// its management leg stays, so it still reaches etcd.
func (c *Cluster) CutLinks(h *Host) { c.LinksDown(h, Public, Private) }

// RestoreLinks puts them back.
func (c *Cluster) RestoreLinks(h *Host) { c.LinksUp(h, Public, Private) }

// PowerOff cuts h off as a host that loses power: every switch port of it
// down (management too), as Pair.PowerOff; its processes run on.
func (c *Cluster) PowerOff(h *Host) { powerOff(h.NS, h.links(c.Switch, segments)...) }

// PowerOn brings them back with h's neighbour cache empty, as
// Pair.PowerOn.
func (c *Cluster) PowerOn(h *Host) { powerOn(h.NS, h.links(c.Switch, segments)...) }

// Hang makes h a hung host, as Pair.Hang: nothing enters or leaves any of
// its legs, which keep their carrier.
func (c *Cluster) Hang(h *Host) {
	c.t.Helper()
	var devs []string
	for _, s := range segments {
		if d := h.Dev(s); d != "" {
			devs = append(devs, d)
		}
	}
	hang(c.t, h.NS, devs...)
}

// Unhang lets h's traffic flow again.
func (c *Cluster) Unhang(h *Host) { unhang(h.NS) }

// requireNft skips t unless it runs as root with ip and nft.
func requireNft(t testing.TB) {
	t.Helper()
	Require(t)
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("skipped: needs nft from nftables for the lab's cuts (apt-get install nftables; .ci/run installs it)")
	}
}
