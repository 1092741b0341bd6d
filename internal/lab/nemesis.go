package lab

import (
	"sort"
	"strings"
)

// The partition nemesis of a cluster lab cuts hosts apart in the switch:
// one nftables table of the bridge family in the switch namespace drops
// every frame that one host's port would forward to the other's, on every
// segment both are on (public, private, management), both ways. Because it
// goes by switch port, a cut covers everything between the two hosts
// whatever addresses the frames carry: heartbeats (also broadcast ones,
// which the bridge floods and the rule drops at the cut host's port
// only), standby announcements, ARP and the client's requests, a service
// address however it moved, etcd's client and peer traffic. What crosses
// between hosts not cut apart flows on, and every link keeps its carrier:
// a cut host hears silence, it sees no cable pulled (LinksDown and
// CutLinks are for that); a TCP connection across the cut is not reset,
// its packets vanish until it times out or the cut heals, as in a real
// partition. Every change of the cuts is one nftables transaction: all the
// pairs it names are cut, or healed, at once.
//
// Not by IP address in the hosts' namespaces: a service address moves
// between hosts, so a rule naming it would cut its new holder too, or
// let its old one through, and a forged frame may carry any address. The
// switch port is the host.
//
// Cut, Isolate, Heal and HealAll fail the test when nft does, so call them
// from the test's goroutine.

// cutTable is the switch's nftables table of cuts: a set of (in port, out
// port) pairs and a rule dropping what the bridge forwards between them.
const cutTable = "lab_cut"

// Cut cuts every host of a from every host of b (a host found on both
// sides is not cut from itself). Cuts add up: a pair stays cut until a
// Heal names it.
func (c *Cluster) Cut(a, b []*Host) {
	c.t.Helper()
	c.setCuts(a, b, true)
}

// Isolate cuts hs from every other host of the lab (not from each other).
func (c *Cluster) Isolate(hs ...*Host) {
	c.t.Helper()
	c.Cut(hs, c.Others(hs...))
}

// Heal joins every host of a with every host of b again.
func (c *Cluster) Heal(a, b []*Host) {
	c.t.Helper()
	c.setCuts(a, b, false)
}

// setCuts cuts or heals every pair of a host of a and a host of b.
func (c *Cluster) setCuts(a, b []*Host, cut bool) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range a {
		for _, y := range b {
			if !cut {
				delete(c.cuts, hostPair(x, y))
			} else if x != y {
				c.cuts[hostPair(x, y)] = true
			}
		}
	}
	c.applyCuts()
}

// HealAll removes every cut.
func (c *Cluster) HealAll() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.cuts)
	c.applyCuts()
}

// IsCut reports whether a and b are cut apart.
func (c *Cluster) IsCut(a, b *Host) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cuts[hostPair(a, b)]
}

// hostPair is the map key of a pair of hosts, the same either way round.
func hostPair(a, b *Host) [2]*Host {
	if a.Short > b.Short {
		a, b = b, a
	}
	return [2]*Host{a, b}
}

// applyCuts writes the cut pairs into the switch's table, replacing what
// it held, in one transaction; it creates the table the first time.
func (c *Cluster) applyCuts() {
	c.t.Helper()
	var pairs []string
	for p := range c.cuts {
		for _, s := range segments {
			x, okx := p[0].legs[s]
			y, oky := p[1].legs[s]
			if okx && oky {
				pairs = append(pairs, `"`+x.port+`" . "`+y.port+`"`, `"`+y.port+`" . "`+x.port+`"`)
			}
		}
	}
	sort.Strings(pairs)
	var script strings.Builder
	if !c.cutMade {
		script.WriteString("table bridge " + cutTable + " {\n" +
			"\tset cuts { type ifname . ifname; }\n" +
			"\tchain forward { type filter hook forward priority 0; policy accept; iifname . oifname @cuts counter drop; }\n" +
			"}\n")
	}
	script.WriteString("flush set bridge " + cutTable + " cuts\n")
	if len(pairs) > 0 {
		script.WriteString("add element bridge " + cutTable + " cuts { " + strings.Join(pairs, ", ") + " }\n")
	}
	nft(c.t, c.Switch, script.String())
	c.cutMade = true
}
