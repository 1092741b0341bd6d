package lab

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// Addresses of the two-server topology (documentation ranges only).
const (
	Server1Priv   = "192.0.2.1"
	Server2Priv   = "192.0.2.2"
	Server1Pub    = "198.51.100.1" // the primary's public address: the one failover moves
	Server2Pub    = "198.51.100.2"
	ClientAddr    = "198.51.100.100"
	PrivNet       = "/24"
	PubNet        = "/24"
	PrivBroadcast = "192.0.2.255"
	PubBroadcast  = "198.51.100.255"
)

// Pair is DESIGN.md's lab: server1 and server2, each with a public leg on
// a bridge (in a switch namespace of its own) and a private veth between
// them, and a client on the bridge.
//
//	client ── eth0 ─┐
//	server1 ─ pub0 ─┼─ br0 (switch)
//	server2 ─ pub0 ─┘
//	server1 ─ priv0 ───── priv0 ─ server2
type Pair struct {
	Lab                    *Lab
	Switch, S1, S2, Client *NS
}

// NewPair builds the topology; every namespace is removed when the test
// ends.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	l := New(t)
	p := &Pair{Lab: l, Switch: l.Netns("sw"), S1: l.Netns("s1"), S2: l.Netns("s2"), Client: l.Netns("cl")}
	l.Bridge(p.Switch, "br0")
	l.Plug(p.S1, "pub0", p.Switch, "s1", "br0")
	l.Plug(p.S2, "pub0", p.Switch, "s2", "br0")
	l.Plug(p.Client, "eth0", p.Switch, "cl", "br0")
	l.Veth(p.S1, "priv0", p.S2, "priv0")
	p.S1.Addr("priv0", Server1Priv+PrivNet)
	p.S2.Addr("priv0", Server2Priv+PrivNet)
	p.S1.Addr("pub0", Server1Pub+PubNet)
	p.S2.Addr("pub0", Server2Pub+PubNet)
	p.Client.Addr("eth0", ClientAddr+PubNet)
	quietClient(p.Client, "eth0")
	return p
}

// quietClient has the client re-resolve an address only when an
// announcement tells it to: left to itself, a stale entry is probed after
// 5 s, which could move the client during a test and hide a missing
// announce.
func quietClient(ns *NS, dev string) {
	ns.Sysctl("net.ipv4.neigh."+dev+".delay_first_probe_time", "600")
}

// CutPrivate pulls server1's private cable (server2 sees no carrier).
func (p *Pair) CutPrivate() { p.S1.MustRun("ip", "link", "set", "priv0", "down") }

// RestorePrivate puts it back.
func (p *Pair) RestorePrivate() { p.S1.MustRun("ip", "link", "set", "priv0", "up") }

// CutPublic pulls server1's public cable at the switch: server1 sees no
// carrier, server2 and the client stay on the bridge.
func (p *Pair) CutPublic() { p.Switch.MustRun("ip", "link", "set", "s1", "down") }

// RestorePublic puts it back.
func (p *Pair) RestorePublic() { p.Switch.MustRun("ip", "link", "set", "s1", "up") }

// Loss is an nftables rule dropping a share of the packets arriving on
// one device, with counters of what it saw and what it dropped.
type Loss struct {
	ns    *NS
	table string
}

// DropPercent drops pct % of the packets arriving in ns on dev, with
// nftables (tc netem is not available). pct 0 removes the rule.
func DropPercent(t testing.TB, ns *NS, dev string, pct int) *Loss {
	t.Helper()
	l := &Loss{ns: ns, table: "lab_loss_" + dev}
	_, _ = ns.Run("nft", "delete", "table", "netdev", l.table)
	if pct <= 0 {
		return l
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Fatal("needs nft (apt-get install nftables; .ci/run installs it)")
	}
	rules := fmt.Sprintf(`table netdev %s {
	chain in {
		type filter hook ingress device %s priority 0; policy accept;
		counter
		numgen random mod 100 < %d counter drop
	}
}`, l.table, dev, pct)
	nft(t, ns, rules)
	return l
}

// Counts reads the rule's counters: packets that arrived, and packets it
// dropped.
func (l *Loss) Counts(t testing.TB) (seen, dropped uint64) {
	t.Helper()
	out := l.ns.MustRun("nft", "-j", "list", "table", "netdev", l.table)
	var doc struct {
		Nftables []struct {
			Rule *struct {
				Expr []map[string]json.RawMessage `json:"expr"`
			} `json:"rule"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("nft -j in %s: %v\n%s", l.ns.Name, err, out)
	}
	var counters []uint64
	for _, o := range doc.Nftables {
		if o.Rule == nil {
			continue
		}
		for _, e := range o.Rule.Expr {
			if raw, ok := e["counter"]; ok {
				var c struct{ Packets uint64 }
				if err := json.Unmarshal(raw, &c); err != nil {
					t.Fatalf("nft counter %s: %v", raw, err)
				}
				counters = append(counters, c.Packets)
			}
		}
	}
	if len(counters) != 2 {
		t.Fatalf("table %s in %s has %d counters, want 2:\n%s", l.table, l.ns.Name, len(counters), out)
	}
	return counters[0], counters[1]
}

// Neighbour returns the MAC ns's kernel holds for addr on dev, read with
// ip(8), or "".
func Neighbour(ns *NS, dev, addr string) string {
	out, _ := ns.Run("ip", "neigh", "show", addr, "dev", dev)
	f := strings.Fields(out)
	for i := range f {
		if f[i] == "lladdr" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

// MAC returns the hardware address of dev in ns.
func MAC(t testing.TB, ns *NS, dev string) string {
	t.Helper()
	out := ns.MustRun("cat", "/sys/class/net/"+dev+"/address")
	return strings.TrimSpace(out)
}

// hangTable is the nftables table that hangs a host.
const hangTable = "lab_hang"

// Hang makes server1 a hung host: nothing enters or leaves its links
// (netdev ingress and egress drop everything), as when its kernel stops,
// while the links keep their carrier.
func (p *Pair) Hang(t testing.TB) {
	t.Helper()
	hang(t, p.S1, "priv0", "pub0")
}

// Unhang lets server1's traffic flow again.
func (p *Pair) Unhang() { unhang(p.S1) }

// hang drops everything that enters or leaves ns on devs.
func hang(t testing.TB, ns *NS, devs ...string) {
	t.Helper()
	var chains strings.Builder
	for _, dev := range devs {
		fmt.Fprintf(&chains, "\tchain in_%[1]s { type filter hook ingress device %[1]s priority 0; policy drop; }\n", dev)
		fmt.Fprintf(&chains, "\tchain out_%[1]s { type filter hook egress device %[1]s priority 0; policy drop; }\n", dev)
	}
	nft(t, ns, "table netdev "+hangTable+" {\n"+chains.String()+"}\n")
}

// unhang removes what hang put in ns.
func unhang(ns *NS) { _, _ = ns.Run("nft", "delete", "table", "netdev", hangTable) }

// nft loads script into ns's nftables in one transaction.
func nft(t testing.TB, ns *NS, script string) {
	t.Helper()
	cmd := ns.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft in %s: %v\n%s\n%s", ns.Name, err, out, script)
	}
}

// PowerOff cuts server1 off as a host that loses power: its switch port
// and then its private cable go down (server2's end loses its carrier),
// one netlink message after the other, microseconds apart. server1's own
// interfaces stay up without carrier, and its daemon runs on (the bench
// and the tests measure the network's view).
func (p *Pair) PowerOff() { powerOff(p.S1, p.publicPort(), p.privateEnd()) }

// PowerOn brings the links back the same way, the public one first,
// with server1's neighbour cache empty, as a host's is when its power
// comes back. Its kernel ran on through the cut: a reply it sent in the
// cut (to a request that came just before it) began resolving the
// client's address into the dark link, and such an entry asks again only
// a second (retrans_time) later, holding the replies until then. Beside
// a second make test that left the client unanswered for 550-610 ms after
// a give-back in 2 to 4 of every 8-16 smoke rounds: server1's replies
// queued until its second ARP request, though the client had moved to it
// within milliseconds.
func (p *Pair) PowerOn() { powerOn(p.S1, p.publicPort(), p.privateEnd()) }

func (p *Pair) publicPort() nsLink { return nsLink{p.Switch, "s1"} }

func (p *Pair) privateEnd() nsLink { return nsLink{p.S1, "priv0"} }

// powerOff sets host's links down, one netlink message after the other.
func powerOff(host *NS, links ...nsLink) {
	if err := setLinks(false, links...); err != nil {
		host.t.Fatalf("power off %s: %v", host.Name, err)
	}
}

// powerOn empties host's neighbour cache (see Pair.PowerOn) and sets its
// links up again.
func powerOn(host *NS, links ...nsLink) {
	host.MustRun("ip", "neigh", "flush", "all")
	if err := setLinks(true, links...); err != nil {
		host.t.Fatalf("power on %s: %v", host.Name, err)
	}
}
