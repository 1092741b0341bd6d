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

	"github.com/ipfailover/ipfailover/internal/safefile"
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

// Config is the whole effective configuration of either daemon.
type Config struct {
	File string // the configuration file read, if any

	BcastIPs       []netip.Addr // heartbeat targets (heartbeatd)
	PeerIP         netip.Addr   // the primary's private address (failoverd)
	Pairs          []Pair       // public addresses to take over (failoverd)
	ServiceIPs     []Pair       // service addresses heartbeatd holds
	EmailRecipient string

	Port         uint16
	Interval     time.Duration
	DeadCount    int
	Timeout      time.Duration // zero: derive from the sender's interval × DeadCount
	ReplayWindow time.Duration
	Priority     int // failoverd's rank among the standbys (FAILOVER_PRIORITY)
	// The arbiter (FAILOVER_ARBITER…): etcd's client URLs (none: no
	// arbiter), the lease, what a holder does when etcd is down for
	// everyone, the keys' prefix, and TLS.
	Arbiter                            []string
	ArbiterTTL                         time.Duration
	ArbiterLost                        string
	ArbiterPrefix                      string
	ArbiterCA, ArbiterCert, ArbiterKey string
	StandbyPort                        uint16 // where the standbys announce themselves
	Message                            string
	NodeName                           string

	AuthKeyFiles []string
	Keys         []wire.Key // loaded from AuthKeyFiles; the first signs

	HookDir      string
	HookTimeout  time.Duration
	InitialGrace time.Duration
	HoldDown     time.Duration
	AutoGiveBack bool
	AskWait      time.Duration
	// heartbeatd's service checks
	CheckInterval time.Duration
	CheckTimeout  time.Duration
	CheckFall     int
	CheckRise     int
	GoodbyeWait   time.Duration
	ConflictTest  time.Duration // zero: never
	// Confirming a silent primary by probing its host.
	Confirm        bool
	ConfirmProbes  int
	ConfirmSpacing time.Duration // zero: derived from the primary's interval

	AnnounceRepeats   int
	AnnounceSpacing   time.Duration
	AnnounceRefresh   time.Duration // zero: no refresh
	ReconcileInterval time.Duration

	ControlSocket string
	LockSocket    string // heartbeatd's (instance.Listen)
	StateDir      string // empty: nothing kept across a restart
	Sendmail      string // empty: no mail
	NotifyCommand string
	Legacy        bool

	LogFile        string
	SyslogFacility string // empty: log to stderr
	MetricsAddr    string // as written; MetricsListen gives the address, empty: off

	// Warnings are problems that do not stop the daemon, such as an
	// unknown FAILOVER_ key; the daemons log them at start.
	Warnings []*Error

	origins     map[string]Origin
	fileMissing bool // File is the default one, and does not exist
}

// Keyring returns the authentication keys as a wire.Keyring.
func (c *Config) Keyring() *wire.Keyring { return wire.NewKeyring(c.Keys...) }

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

// OriginOf says where the value of key came from: a file's line, the
// command line, or (the zero Origin) the default.
func (c *Config) OriginOf(key string) Origin { return c.origins[key] }

// Format writes the effective configuration as KEY=value lines, each with
// where it came from: what `-n` prints.
func (c *Config) Format(role Role) string {
	var b strings.Builder
	for _, k := range keys {
		if !k.usedBy(role) {
			continue
		}
		v := safefile.Visible(k.format(c)) // a path may hold control characters
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
