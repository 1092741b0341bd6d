// Package config builds one typed, validated configuration from, in
// rising precedence, a hostconfig-style file, the original daemons'
// positional arguments, and flags.
package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// Role says which daemon a configuration is for; each needs other keys.
type Role int

// The daemons.
const (
	Heartbeatd Role = iota // the primary: sends heartbeats
	Failoverd              // the secondary: listens and takes over
)

func (r Role) String() string {
	if r == Heartbeatd {
		return "heartbeatd"
	}
	return "failoverd"
}

// Pair is one interface:pub_addr[/mask] of the original: a public address
// of the primary that the secondary takes over on Interface.
type Pair struct {
	Interface string
	Addr      netip.Addr
	// Bits is the prefix length given after the address, or -1 when the
	// mask was left blank.
	Bits int
}

func (p Pair) String() string {
	a := p.Addr.String()
	if p.Addr.Is6() {
		a = "[" + a + "]"
	}
	if p.Bits >= 0 {
		return fmt.Sprintf("%s:%s/%d", p.Interface, a, p.Bits)
	}
	return p.Interface + ":" + a
}

// Config is the whole effective configuration of either daemon.
type Config struct {
	File string // the configuration file read, if any

	BcastIPs       []netip.Addr // heartbeat targets (heartbeatd)
	PeerIP         netip.Addr   // the primary's private address (failoverd)
	Pairs          []Pair       // public addresses to take over (failoverd)
	EmailRecipient string

	Port         uint16
	Interval     time.Duration
	DeadCount    int
	Timeout      time.Duration // zero: derive from the sender's interval × DeadCount
	ReplayWindow time.Duration
	Message      string
	NodeName     string

	AuthKeyFiles []string
	Keys         []wire.Key // loaded from AuthKeyFiles; the first signs

	HookDir      string
	HookTimeout  time.Duration
	InitialGrace time.Duration
	HoldDown     time.Duration
	AutoGiveBack bool

	AnnounceRepeats   int
	AnnounceSpacing   time.Duration
	AnnounceRefresh   time.Duration // zero: no refresh
	ReconcileInterval time.Duration

	ControlSocket string
	Sendmail      string // empty: no mail
	NotifyCommand string
	Legacy        bool

	LogFile        string
	SyslogFacility string // empty: log to stderr

	// Warnings are problems that do not stop the daemon, such as an
	// unknown FAILOVER_ key; the daemons log them at start.
	Warnings []*Error

	origins map[string]Origin
}

// Prefix is the prefix the address is installed with. By the original's
// rule the mask is blank or /32 when the address is on the interface's
// own subnet: it is then added as a host address (/32, IPv6 /128), so
// the interface's own address stays the one that owns the subnet's
// route. A mask given for an address on another subnet is installed as
// given, which adds that subnet's route on the interface.
func (p Pair) Prefix() netip.Prefix {
	bits := p.Bits
	if bits < 0 {
		bits = p.Addr.BitLen()
	}
	return netip.PrefixFrom(p.Addr, bits)
}

// OriginOf says where the value of key came from.
func (c *Config) OriginOf(key string) Origin { return c.origins[key] }

// Keyring returns the authentication keys as a wire.Keyring.
func (c *Config) Keyring() *wire.Keyring { return wire.NewKeyring(c.Keys...) }

// DeadTimeout is how long the receiver waits without a heartbeat before a
// link counts as silent, given the sender's advertised interval.
func (c *Config) DeadTimeout(senderInterval time.Duration) time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	if senderInterval <= 0 {
		senderInterval = c.Interval
	}
	return senderInterval * time.Duration(c.DeadCount)
}

// Changed lists the keys of role whose values differ between a and b,
// leaving out those named in except.
func Changed(a, b *Config, role Role, except ...string) []string {
	var out []string
	for _, k := range keys {
		if k.usedBy(role) && !slices.Contains(except, k.Name) && k.format(a) != k.format(b) {
			out = append(out, k.Name)
		}
	}
	return out
}

// Format writes the effective configuration as KEY=value lines, each with
// where it came from: what `-n` prints.
func (c *Config) Format(role Role) string {
	var b strings.Builder
	for _, k := range keys {
		if !k.usedBy(role) {
			continue
		}
		v := k.format(c)
		fmt.Fprintf(&b, "%s=%s", k.Name, quoteIfNeeded(v))
		if o, ok := c.origins[k.Name]; ok {
			fmt.Fprintf(&b, "\t# %s", o)
		} else {
			b.WriteString("\t# default")
		}
		b.WriteString("\n")
	}
	return b.String()
}
