package config

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/safefile"
)

// Level grades one finding of a live check.
type Level int

// Levels, from fine to fatal.
const (
	OK Level = iota
	Warning
	Fatal
)

func (l Level) String() string {
	return [...]string{"ok", "warning", "error"}[l]
}

// Finding is one result of checking the configuration against the host.
type Finding struct {
	Level Level
	Err   *Error
}

// String is the finding as -n prints it, one line: the names of files it
// shows (of hooks in a folder others may write to, say) may hold control
// characters that would rewrite what root's terminal shows, so they are
// made visible (safefile.Visible).
func (f Finding) String() string {
	return fmt.Sprintf("%-7s %s", f.Level, safefile.Visible(f.Err.Error()))
}

// Check compares the configuration with the host's live interfaces and
// its programs for notices (failoverd's, and heartbeatd's with service
// addresses): what `-n` does after printing the configuration.
func Check(c *Config, role Role, ifs []netif.Interface) []Finding {
	if role == Heartbeatd {
		out := append(checkTargets(c, ifs), checkServiceIPs(c, ifs)...)
		if len(c.ServiceIPs) > 0 { // its conflict notices
			out = append(out, checkNotices(c)...)
		}
		return out
	}
	return append(checkFailover(c, ifs), checkNotices(c)...)
}

// WriteFindings prints findings and reports whether any is fatal.
func WriteFindings(w io.Writer, fs []Finding) (fatal bool) {
	for _, f := range fs {
		fmt.Fprintln(w, f)
		fatal = fatal || f.Level == Fatal
	}
	return fatal
}

func describe(it netif.Interface, a netif.Addr) string {
	state := ""
	if !it.Up {
		state = ", down"
	}
	return fmt.Sprintf("%s (%s%s)", it.Name, a.Prefix, state)
}

func checkTargets(c *Config, ifs []netif.Interface) []Finding {
	var out []Finding
	origin := c.origins[KeyBcastIPs]
	add := func(l Level, target netip.Addr, problem, hint string) {
		out = append(out, Finding{l, &Error{Origin: origin, Key: KeyBcastIPs, Value: target.String(), Problem: problem, Hint: hint}})
	}
	for _, t := range c.BcastIPs {
		r := netif.Find(ifs, t)
		switch {
		case t == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			add(Warning, t, "the limited broadcast leaves only by the default route, not on every link", "name each link's own broadcast address instead")
		case r.Kind == netif.NoLink:
			hint := "no interface that is up has an address of this family"
			if it, a, ok := netif.Closest(ifs, t); ok {
				hint = "the closest is " + describe(it, a)
				if a.Broadcast.IsValid() {
					hint += ", whose broadcast address is " + a.Broadcast.String()
				}
			}
			if looksLikeBroadcast(t) {
				add(Fatal, t, t.String()+" is not the broadcast address of a subnet on any interface that is up", hint)
				continue
			}
			add(Warning, t, t.String()+" is on no directly connected subnet; heartbeats to it follow the routing table", "fine for a secondary behind a router; otherwise "+hint)
		case !r.Interface.Up:
			add(Fatal, t, "the link for "+t.String()+", "+describe(r.Interface, r.Addr)+", is down", "bring "+r.Interface.Name+" up (ip link set "+r.Interface.Name+" up)")
		case r.Kind == netif.Local:
			add(Fatal, t, t.String()+" is this host's own address on "+r.Interface.Name, "name the broadcast address "+r.Addr.Broadcast.String()+" or the secondary's address")
		case !r.Interface.Running:
			add(Warning, t, r.Interface.Name+" has no carrier (cable out, or the far end down)", "heartbeats on this link will not arrive until it has")
		case r.Kind == netif.Broadcast:
			add(OK, t, "broadcast address of "+describe(r.Interface, r.Addr)+"; heartbeats leave "+r.Interface.Name+" from "+r.Addr.Prefix.Addr().String(), "")
		default: // unicast on a connected subnet
			if k, ok := netif.NarrowerBroadcast(r.Addr.Prefix, t); ok {
				// x.y.z.255 on a wider link is nearly always the mistake;
				// x.y.z.127 is as often a host, so it only warns.
				level, tail := Fatal, ""
				if !looksLikeBroadcast(t) {
					level, tail = Warning, " (unless "+t.String()+" really is the secondary's address)"
				}
				add(level, t, fmt.Sprintf("%s is the broadcast address of a /%d, but the link %s is a /%d", t, k, describe(r.Interface, r.Addr), r.Addr.Prefix.Bits()),
					"its broadcast address is "+r.Addr.Broadcast.String()+"; write that, or nothing on that link will hear the heartbeats"+tail)
				continue
			}
			add(OK, t, "unicast to a host on "+describe(r.Interface, r.Addr)+"; heartbeats leave "+r.Interface.Name+" from "+r.Addr.Prefix.Addr().String(), "")
		}
	}
	if len(c.BcastIPs) == 1 {
		out = append(out, Finding{Warning, &Error{Origin: origin, Key: KeyBcastIPs, Problem: "only one link",
			Hint: "with one link a single cable fault looks like a dead primary; name a private and a public link"}})
	}
	return out
}

// looksLikeBroadcast: an IPv4 address ending in .255.
func looksLikeBroadcast(a netip.Addr) bool { return a.Is4() && a.As4()[3] == 255 }

func checkFailover(c *Config, ifs []netif.Interface) []Finding {
	var out []Finding
	add := func(l Level, key, value, problem, hint string) {
		out = append(out, Finding{l, &Error{Origin: c.origins[key], Key: key, Value: value, Problem: problem, Hint: hint}})
	}
	privLink := ""
	peer := c.PeerIP
	switch r := netif.Find(ifs, peer); {
	case r.Kind == netif.Local:
		add(Fatal, KeyPeerIP, peer.String(), "this host holds the primary's private address itself", "set the primary's private address, not this host's")
	case r.Kind == netif.Unicast && r.Interface.Up:
		privLink = r.Interface.Name
		add(OK, KeyPeerIP, peer.String(), "on the directly connected subnet of "+describe(r.Interface, r.Addr)+": the private link", "")
	case r.Kind == netif.Unicast:
		add(Fatal, KeyPeerIP, peer.String(), "the private link "+describe(r.Interface, r.Addr)+" is down", "bring "+r.Interface.Name+" up")
	case r.Kind == netif.Broadcast:
		add(Fatal, KeyPeerIP, peer.String(), "the broadcast address of "+describe(r.Interface, r.Addr)+", not one host's", useHint(peer, usePeer))
	default:
		hint := "give the primary's address on the private link between the two servers"
		if it, a, ok := netif.Closest(ifs, peer); ok {
			hint = "the closest subnet is " + describe(it, a) + "; " + hint
		}
		add(Fatal, KeyPeerIP, peer.String(), "not on any directly connected subnet", hint)
	}
	for _, p := range c.Pairs {
		checkPair(p, ifs, KeyPairs, privLink, add)
	}
	return out
}

// checkServiceIPs checks heartbeatd's service addresses as failoverd's
// pairs are checked: the same addresses, the same rules.
func checkServiceIPs(c *Config, ifs []netif.Interface) []Finding {
	var out []Finding
	add := func(l Level, key, value, problem, hint string) {
		out = append(out, Finding{l, &Error{Origin: c.origins[key], Key: key, Value: value, Problem: problem, Hint: hint}})
	}
	for _, p := range c.ServiceIPs {
		checkPair(p, ifs, KeyServiceIPs, "", add)
	}
	return out
}

// checkPair checks one address that moves between the servers, listed
// under key.
func checkPair(p Pair, ifs []netif.Interface, key, privLink string, add func(l Level, key, value, problem, hint string)) {
	verb, held := "taken over", "failoverd will take it as held (left by a crash?); remove it if the primary is alive"
	if key == KeyServiceIPs {
		verb, held = "held", "heartbeatd keeps it (left by a crash?); remove it if the secondary holds it"
	}
	v := p.String()
	var it *netif.Interface
	var names []string
	for i := range ifs {
		names = append(names, ifs[i].Name)
		if ifs[i].Name == p.Interface {
			it = &ifs[i]
		}
	}
	if it == nil {
		add(Fatal, key, v, "no interface named "+p.Interface, "this host has "+strings.Join(names, ", "))
		return
	}
	if !it.Up {
		add(Fatal, key, v, p.Interface+" is down", "bring it up (ip link set "+p.Interface+" up)")
	} else if !it.Running {
		add(Warning, key, v, p.Interface+" has no carrier (cable out?)", "clients cannot reach the address there until it has")
	}
	if p.Interface == privLink {
		add(Warning, key, v, p.Interface+" also carries the private link", "with both links on one interface, one cable fault looks like a dead primary")
	}
	var own *netif.Addr
	for i := range it.Addrs {
		a := it.Addrs[i]
		if a.Prefix.Addr() == p.Addr {
			add(Warning, key, v, "this host already holds "+p.Addr.String()+" on "+p.Interface, held)
		}
		if own == nil && a.Prefix.Addr().Is4() == p.Addr.Is4() && a.Prefix.Masked().Contains(p.Addr) && a.Prefix.Addr() != p.Addr {
			own = &a
		}
	}
	switch {
	case own != nil && own.Broadcast == p.Addr:
		add(Fatal, key, v, fmt.Sprintf("%s is the broadcast address of %s's subnet %s, not one host's", p.Addr, p.Interface, own.Prefix.Masked()), useHint(p.Addr, usePublic))
	case own != nil && p.Bits >= 0 && p.Bits != p.Addr.BitLen():
		add(Fatal, key, v, fmt.Sprintf("%s is on %s's own subnet %s, so the mask must be blank or /%d", p.Addr, p.Interface, own.Prefix.Masked(), p.Addr.BitLen()),
			"write "+Pair{Interface: p.Interface, Addr: p.Addr, Bits: -1}.String())
	case own != nil:
		add(OK, key, v, fmt.Sprintf("%s on %s, on its own subnet %s", verb, p.Interface, own.Prefix.Masked()), "")
	case p.Bits < 0 || p.Bits == p.Addr.BitLen():
		add(Warning, key, v, fmt.Sprintf("%s is not on any subnet of %s", p.Addr, p.Interface), "give the mask of its subnet (for example "+p.Interface+":"+p.Addr.String()+"/24) so clients on that subnet can reach it")
	default:
		add(OK, key, v, fmt.Sprintf("%s on %s with its own subnet /%d", verb, p.Interface, p.Bits), "")
	}
}

// CheckTargets are the addresses whose folders hold heartbeatd's service
// checks: the service addresses, or without them (host-address mode) the
// host's own address on each link after the first (the private one),
// which is the address the secondary takes over.
func CheckTargets(c *Config, ifs []netif.Interface) []Pair {
	if len(c.ServiceIPs) > 0 {
		return c.ServiceIPs
	}
	var out []Pair
	for i, t := range c.BcastIPs {
		if i == 0 {
			continue
		}
		r := netif.Find(ifs, t)
		if r.Kind == netif.NoLink || r.Kind == netif.Local {
			continue
		}
		p := Pair{Interface: r.Interface.Name, Addr: r.Addr.Prefix.Addr(), Bits: -1}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
