package config

import (
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const keyPrefix = "FAILOVER_"

// minInterval is the shortest heartbeat interval accepted.
const minInterval = 10 * time.Millisecond

// Key names.
const (
	KeyBcastIPs       = "FAILOVER_BCAST_IPS"
	KeyPeerIP         = "FAILOVER_PEER_IP"
	KeyPairs          = "FAILOVER_PEER_IP_PAIRS"
	KeyEmail          = "FAILOVER_EMAIL_RECIPIENT"
	KeyPort           = "FAILOVER_PORT"
	KeyInterval       = "FAILOVER_INTERVAL"
	KeyDeadCount      = "FAILOVER_DEAD_COUNT"
	KeyTimeout        = "FAILOVER_TIMEOUT"
	KeyReplayWindow   = "FAILOVER_REPLAY_WINDOW"
	KeyMessage        = "FAILOVER_MESSAGE"
	KeyNodeName       = "FAILOVER_NODE_NAME"
	KeyAuthKeyFile    = "FAILOVER_AUTH_KEY_FILE"
	KeyHookDir        = "FAILOVER_HOOK_DIR"
	KeyHookTimeout    = "FAILOVER_HOOK_TIMEOUT"
	KeyInitialGrace   = "FAILOVER_INITIAL_GRACE"
	KeyHoldDown       = "FAILOVER_GIVEBACK_HOLDDOWN"
	KeyAutoGiveBack   = "FAILOVER_AUTO_GIVEBACK"
	KeyLogFile        = "FAILOVER_LOG_FILE"
	KeyLogFacility    = "FAILOVER_LOG_FACILITY"
	KeyAnnRepeats     = "FAILOVER_ANNOUNCE_REPEATS"
	KeyAnnSpacing     = "FAILOVER_ANNOUNCE_SPACING"
	KeyAnnRefresh     = "FAILOVER_ANNOUNCE_REFRESH"
	KeyReconcile      = "FAILOVER_RECONCILE_INTERVAL"
	KeyPriority       = "FAILOVER_PRIORITY"
	KeyArbiter        = "FAILOVER_ARBITER"
	KeyArbiterTTL     = "FAILOVER_ARBITER_TTL"
	KeyArbiterCA      = "FAILOVER_ARBITER_CA"
	KeyArbiterCert    = "FAILOVER_ARBITER_CERT"
	KeyArbiterKey     = "FAILOVER_ARBITER_KEY"
	KeyArbiterLost    = "FAILOVER_ARBITER_LOST"
	KeyArbiterPrefix  = "FAILOVER_ARBITER_PREFIX"
	KeyStandbyPort    = "FAILOVER_STANDBY_PORT"
	KeyControlSocket  = "FAILOVER_CONTROL_SOCKET"
	KeyLockSocket     = "FAILOVER_LOCK_SOCKET"
	KeyStateDir       = "FAILOVER_STATE_DIR"
	KeySendmail       = "FAILOVER_SENDMAIL"
	KeyNotifyCommand  = "FAILOVER_NOTIFY_COMMAND"
	KeyLegacy         = "FAILOVER_LEGACY"
	KeyServiceIPs     = "FAILOVER_SERVICE_IPS"
	KeyAskWait        = "FAILOVER_ASK_WAIT"
	KeyGoodbyeWait    = "FAILOVER_GOODBYE_WAIT"
	KeyConflictTest   = "FAILOVER_CONFLICT_TEST"
	KeyConfirm        = "FAILOVER_CONFIRM"
	KeyConfirmProbes  = "FAILOVER_CONFIRM_PROBES"
	KeyConfirmSpacing = "FAILOVER_CONFIRM_SPACING"
	KeyCheckInterval  = "FAILOVER_CHECK_INTERVAL"
	KeyCheckTimeout   = "FAILOVER_CHECK_TIMEOUT"
	KeyCheckFall      = "FAILOVER_CHECK_FALL"
	KeyCheckRise      = "FAILOVER_CHECK_RISE"
	KeyMetricsAddr    = "FAILOVER_METRICS_ADDR"
	roleBoth          = roleMask(1<<Heartbeatd | 1<<Failoverd)
	roleHeartbeatOnly = roleMask(1 << Heartbeatd)
	roleFailoverOnly  = roleMask(1 << Failoverd)
)

type roleMask uint8

// key describes one configuration key: its default, what it means, how to
// parse it into a Config and how to print it back. The table below is the
// one source of each key's default and documentation: -n, the flags' help,
// the key list of ipfailover(5) and the README's are made from it (see
// docs.go; go generate rewrites the two pages).
type key struct {
	Name  string
	Roles roleMask
	// Default is the value when the key is not set. On macOS, Darwin
	// replaces it for the roles in DarwinRoles.
	Default     string
	Darwin      string
	DarwinRoles roleMask
	// Means says what the default means when its value does not say it
	// ("never", "no authentication"). Required, for a key with no
	// default, names what may give the value instead.
	Means    string
	Required string
	// Doc says what the key means, in the markup of docs.go; its first
	// sentence is the help of the key's flag.
	Doc     string
	Example string // a value for the example line of ipfailover(5)
	set     func(c *Config, v string) *valueError
	format  func(c *Config) string
}

func (k *key) usedBy(r Role) bool { return k.Roles&(1<<r) != 0 }

// defaultFor is the key's default for role on the system goos.
func (k *key) defaultFor(r Role, goos string) string {
	if goos == "darwin" && k.DarwinRoles&(1<<r) != 0 {
		return k.Darwin
	}
	return k.Default
}

// Default is the default of the key name for role on this system.
func Default(role Role, name string) string {
	return lookupKey(name).defaultFor(role, runtime.GOOS)
}

// DefaultSenderInterval is heartbeatd's default interval: what failoverd
// assumes of a primary it has not heard yet.
func DefaultSenderInterval() time.Duration {
	c := &Config{}
	if err := lookupKey(KeyInterval).set(c, Default(Heartbeatd, KeyInterval)); err != nil {
		panic("the table's default FAILOVER_INTERVAL does not parse: " + err.problem)
	}
	return c.Interval
}

// DefaultControlSocket is where failoverd listens for failoverctl.
func DefaultControlSocket() string { return Default(Failoverd, KeyControlSocket) }

// pairsKey completes k as a key holding interface:address[/mask] pairs.
func pairsKey(k key, field func(*Config) *[]Pair) *key {
	k.set = func(c *Config, v string) *valueError {
		p, err := parsePairs(v)
		*field(c) = p
		return err
	}
	k.format = func(c *Config) string {
		s := make([]string, len(*field(c)))
		for i, p := range *field(c) {
			s[i] = p.String()
		}
		return strings.Join(s, " ")
	}
	return &k
}

// countKey completes k as a key holding a whole number from 1 to most.
func countKey(k key, most int, field func(*Config) *int) *key {
	k.set = func(c *Config, v string) *valueError {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > most {
			return &valueError{fmt.Sprintf("not a count from 1 to %d", most), "write a whole number such as " + k.Default}
		}
		*field(c) = n
		return nil
	}
	k.format = func(c *Config) string { return strconv.Itoa(*field(c)) }
	return &k
}

// arbiterFile is a key naming one of the arbiter's TLS files.
func arbiterFile(name, doc, example string, field func(*Config) *string) *key {
	return &key{Name: name, Roles: roleBoth, Means: "none", Doc: doc, Example: example,
		set: func(c *Config, v string) *valueError {
			*field(c) = v
			return absolutePath(v, "write the file's full path", true)
		},
		format: func(c *Config) string { return *field(c) }}
}

// portKey completes k as a key holding a UDP port.
func portKey(k key, field func(*Config) *uint16) *key {
	k.set = func(c *Config, v string) *valueError {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 {
			return &valueError{"not a port number", "write a number from 1 to 65535 (the default is " + k.Default + ")"}
		}
		*field(c) = uint16(n)
		return nil
	}
	k.format = func(c *Config) string { return strconv.Itoa(int(*field(c))) }
	return &k
}

// durationKey completes k as a key holding a duration of at least floor;
// when zeroOK, 0 is accepted too and means k.Means.
func durationKey(k key, floor time.Duration, zeroOK bool, field func(*Config) *time.Duration) *key {
	hint := "use " + floor.String() + " or more"
	if zeroOK {
		hint = "use 0 (" + k.Means + ") or " + floor.String() + " or more"
	}
	k.set = func(c *Config, v string) *valueError {
		d, err := parseDuration(v)
		if err != nil {
			return err
		}
		if d < floor && !(zeroOK && d == 0) {
			return &valueError{"shorter than " + floor.String(), hint}
		}
		*field(c) = d
		return nil
	}
	k.format = func(c *Config) string { return field(c).String() }
	return &k
}

// absolutePath is the check of a key that names a file or a folder.
func absolutePath(v, hint string, emptyOK bool) *valueError {
	if (v != "" || !emptyOK) && !strings.HasPrefix(v, "/") {
		return &valueError{"not an absolute path", hint}
	}
	return nil
}

// keys is the table of every key, in the order -n and the pages list them.
// It is filled in init, as some hints quote a default from it.
var keys []*key

func init() {
	keys = []*key{
		{Name: KeyBcastIPs, Roles: roleHeartbeatOnly, Required: "*ip_addr* arguments",
			Doc: "The addresses heartbeatd(8) sends heartbeats to, separated by blanks (or commas): the broadcast address of each link, the private link first, or the secondary's unicast addresses. " +
				"Each must be listed once. The broadcast address must be that of the link's own subnet: an `x.y.z.255` on a `/16` link reaches nobody. " +
				"Unspecified, loopback, multicast and IPv6 link-local addresses are refused; IPv6 has no broadcast, so an IPv6 target is the secondary's address.",
			Example: `"10.0.255.255 198.51.100.255"`,
			set: func(c *Config, v string) *valueError {
				a, err := parseAddrList(v, useTarget)
				c.BcastIPs = a
				return err
			},
			format: func(c *Config) string { return joinAddrs(c.BcastIPs) }},
		{Name: KeyPeerIP, Roles: roleFailoverOnly, Required: "the *master_priv_addr* argument",
			Doc: "The primary's address on the private link (*master_priv_addr*). " +
				"It is never taken over, and must be on a subnet of one of this host's interfaces: that interface is the private link. " +
				"It must be one host's address: unspecified, loopback, multicast, broadcast and IPv6 link-local addresses are refused.",
			Example: `"10.0.0.1"`,
			set: func(c *Config, v string) *valueError {
				a, err := parseAddr(v, usePeer)
				c.PeerIP = a
				return err
			},
			format: func(c *Config) string { return addrString(c.PeerIP) }},
		pairsKey(key{Name: KeyPairs, Roles: roleFailoverOnly, Required: "*interface:pub_addr* arguments",
			Doc: "The primary's public addresses that failoverd(8) takes over, separated by blanks, each as `interface:address[/mask]`, with an IPv6 address in brackets. " +
				"The mask is a prefix length or, for IPv4, a dotted netmask. " +
				"It is blank or `/32` when the address is on the subnet of an address the interface already has (the address is then added as a host address); " +
				"otherwise it is the mask of the address's own subnet, whose route is then added on the interface. " +
				"Each must be an address clients can reach: unspecified, loopback, multicast, broadcast, reserved (`240.0.0.0/4`) and link-local addresses are refused.",
			Example: `"eth0:198.51.100.10 eth0:[2001:db8::10]/64"`},
			func(c *Config) *[]Pair { return &c.Pairs }),
		pairsKey(key{Name: KeyServiceIPs, Roles: roleHeartbeatOnly, Means: "none: the primary's own addresses are the ones taken over",
			Doc: "Service addresses that heartbeatd(8) holds while it runs, separated by blanks, each as `interface:address[/mask]` like FAILOVER_PEER_IP_PAIRS: addresses clients use that are not the primary host's own. " +
				"heartbeatd adds them at start once nobody else answers for them (or once the secondary released them), removes them before it says goodbye, and takes them back after the secondary's `released`. " +
				"The secondary lists the same addresses in FAILOVER_PEER_IP_PAIRS. " +
				"With them, stopping heartbeatd is a switchover with one owner at every moment. Linux only.",
			Example: `"eth0:198.51.100.10"`},
			func(c *Config) *[]Pair { return &c.ServiceIPs }),
		{Name: KeyEmail, Roles: roleBoth, Default: "root",
			Doc: "Who gets the mail failoverd(8) sends on a takeover, a give-back, a network anomaly and the other notices, and heartbeatd(8) on a conflict over a service address. " +
				"It may not be empty; to send no mail, set FAILOVER_SENDMAIL empty.",
			Example: `"admin@example.com"`,
			set: func(c *Config, v string) *valueError {
				if strings.TrimSpace(v) == "" {
					return &valueError{"empty", "name a mail address, or remove the line to mail root"}
				}
				c.EmailRecipient = v
				return nil
			},
			format: func(c *Config) string { return c.EmailRecipient }},
		portKey(key{Name: KeyPort, Roles: roleBoth, Default: "1694",
			Doc:     "The UDP port of the heartbeats, 1 to 65535; the same on both servers.",
			Example: "1694"},
			func(c *Config) *uint16 { return &c.Port }),
		countKey(key{Name: KeyPriority, Roles: roleFailoverOnly, Default: "100",
			Doc: "This standby's rank among the failoverd(8) that watch one primary, 1 to 255, higher first: when the primary is gone, the standby of the highest priority that is alive takes its addresses, and the others watch it. " +
				"Give each standby its own; two with the same priority are an error that `failoverd -n` and a notice report.",
			Example: "150"},
			255, func(c *Config) *int { return &c.Priority }),
		{Name: KeyArbiter, Roles: roleBoth, Means: "none: each host decides alone, as a pair does",
			Doc: "The client URLs of the etcd members that arbitrate, separated by blanks (or commas), such as `https://10.0.9.1:2379`; every server of the cluster lists the same members. " +
				"With an arbiter no host adds an address unless it holds that address's key in etcd, written under its own lease, and nobody answers for the address; a host that cannot reach a majority of the members adds nothing, and a holder that loses the majority removes its addresses before its lease can have expired (see ARBITER in failoverd(8)).",
			Example: `"https://10.0.9.1:2379 https://10.0.9.2:2379 https://10.0.9.3:2379"`,
			set: func(c *Config, v string) *valueError {
				c.Arbiter = nil
				for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
					u, err := url.Parse(f)
					if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
						return &valueError{f + " is not an etcd client URL", "write each member as http:// or https://, its address and port, such as https://10.0.9.1:2379"}
					}
					c.Arbiter = append(c.Arbiter, f)
				}
				return nil
			},
			format: func(c *Config) string { return strings.Join(c.Arbiter, " ") }},
		durationKey(key{Name: KeyArbiterTTL, Roles: roleBoth, Default: "3s",
			Doc: "The lease each host keeps in etcd, 2s or more, in whole seconds (etcd's unit). " +
				"A dead primary is taken over no later than this plus the usual reaction once etcd agrees it is gone; a holder cut from the majority removes its addresses a sixth of it (and 0.1 %) before the lease could expire.",
			Example: "5s"},
			2*time.Second, false, func(c *Config) *time.Duration { return &c.ArbiterTTL }),
		{Name: KeyArbiterLost, Roles: roleBoth, Default: "keep",
			Doc: "What a holder of addresses does when no member of the arbiter answers at all (each refuses the connection: etcd itself is down for everyone): `keep` them, since nobody else can claim them either, or `release` them. " +
				"A member that does not answer (a cut, not a refusal) may serve the others, so a holder cut from the majority always removes its addresses before its lease can expire, whatever this says.",
			Example: "release",
			set: func(c *Config, v string) *valueError {
				switch v {
				case "keep", "release":
					c.ArbiterLost = v
					return nil
				}
				return &valueError{"neither keep nor release", "write keep (the default) or release"}
			},
			format: func(c *Config) string { return c.ArbiterLost }},
		{Name: KeyArbiterPrefix, Roles: roleBoth, Default: "/ipfailover",
			Doc:     "Where in etcd the keys of this cluster live, so that several clusters can share one etcd; the same on every server of the cluster.",
			Example: "/ipfailover/web",
			set: func(c *Config, v string) *valueError {
				c.ArbiterPrefix = v
				return absolutePath(v, "write a key prefix starting with /, such as /ipfailover/web", false)
			},
			format: func(c *Config) string { return c.ArbiterPrefix }},
		arbiterFile(KeyArbiterCA, "The CA certificate (PEM) that signed the etcd members' certificates; an absolute path. Unset: the system's CAs.", "/etc/ipfailover/etcd-ca.pem", func(c *Config) *string { return &c.ArbiterCA }),
		arbiterFile(KeyArbiterCert, "This host's client certificate (PEM) for etcd; an absolute path, set with FAILOVER_ARBITER_KEY.", "/etc/ipfailover/etcd-client.pem", func(c *Config) *string { return &c.ArbiterCert }),
		arbiterFile(KeyArbiterKey, "The private key (PEM) of FAILOVER_ARBITER_CERT; an absolute path. It and every folder above it must be owned by root (or the user the daemon runs as), the folders not writable by group or others, and the file give group and others no permission (such as mode 0600), as FAILOVER_AUTH_KEY_FILE.", "/etc/ipfailover/etcd-client-key.pem", func(c *Config) *string { return &c.ArbiterKey }),
		portKey(key{Name: KeyStandbyPort, Roles: roleFailoverOnly, Default: "1695",
			Doc: "The UDP port on which the standbys of one primary announce themselves to each other (to the broadcast address of each heartbeat link), 1 to 65535; the same on every standby, and not FAILOVER_PORT. " +
				"An announcement names the addresses its standby takes (a fingerprint of the addresses in FAILOVER_PAIRS); one that names others, another pair's standby on the same LAN, is dropped, so the standbys of one primary list the same addresses.",
			Example: "1695"},
			func(c *Config) *uint16 { return &c.StandbyPort }),
		durationKey(key{Name: KeyInterval, Roles: roleHeartbeatOnly, Default: "1s",
			Doc:     "The time between heartbeats, 10ms or more. Each heartbeat carries it, so failoverd(8) follows it.",
			Example: "250ms"},
			minInterval, false, func(c *Config) *time.Duration { return &c.Interval }),
		countKey(key{Name: KeyDeadCount, Roles: roleFailoverOnly, Default: "3",
			Doc:     "How many of the primary's intervals of silence make a link dead, 1 to 1000.",
			Example: "5"},
			1000, func(c *Config) *int { return &c.DeadCount }),
		durationKey(key{Name: KeyTimeout, Roles: roleFailoverOnly, Default: "0",
			Means:   "the primary's advertised interval times FAILOVER_DEAD_COUNT",
			Doc:     "The silence after which a link is dead, 20ms or more.",
			Example: "5s"},
			2*minInterval, true, func(c *Config) *time.Duration { return &c.Timeout }),
		durationKey(key{Name: KeyReplayWindow, Roles: roleFailoverOnly, Default: "30s",
			Doc: "How far the send time of the first packet of a restarted heartbeatd(8) may be from this host's clock, 1s or more. " +
				"Packets further off are dropped as `stale-epoch`, so keep the servers' clocks in step.",
			Example: "1m"},
			time.Second, false, func(c *Config) *time.Duration { return &c.ReplayWindow }),
		{Name: KeyMessage, Roles: roleBoth, Default: "heartbeat",
			Doc: "The text each heartbeat carries, up to 1024 bytes of UTF-8. " +
				"With FAILOVER_LEGACY, failoverd(8) accepts a bare-text heartbeat from an original heartbeatd(8) only when it is exactly this text.",
			Example: `"primary of the web cluster"`,
			set: func(c *Config, v string) *valueError {
				if len(v) > 1024 {
					return &valueError{fmt.Sprintf("%d bytes long", len(v)), "keep it to 1024 bytes"}
				}
				if !utf8.ValidString(v) {
					return &valueError{"not UTF-8 text (a file saved as Latin-1 or MacRoman?)", "write it in UTF-8 or plain ASCII"}
				}
				c.Message = v
				return nil
			},
			format: func(c *Config) string { return c.Message }},
		{Name: KeyNodeName, Roles: roleBoth, Means: "the host name up to its first dot",
			Doc: "This host's name in heartbeats, notices and logs, up to 64 bytes of UTF-8. " +
				"failoverctl(8) `status` shows the primary's.",
			Example: "server1",
			set: func(c *Config, v string) *valueError {
				if len(v) > 64 {
					return &valueError{"longer than 64 bytes", "use a shorter name"}
				}
				if !utf8.ValidString(v) {
					return &valueError{"not UTF-8 text (a file saved as Latin-1 or MacRoman?)", "write it in UTF-8 or plain ASCII"}
				}
				c.NodeName = v
				return nil
			},
			format: func(c *Config) string { return c.NodeName }},
		{Name: KeyAuthKeyFile, Roles: roleBoth, Means: "no authentication",
			Doc: "Files that hold shared secrets, separated by blanks. " +
				"Each is a regular file that holds at least 16 bytes; the whole file, less one trailing newline, is the secret. " +
				"It and every folder above it, up to `/`, must be owned by root (or by the user the daemon runs as) and not writable by group or others, as the hooks must be (see HOOKS in failoverd(8)), and the file may give group and others no permission at all (such as mode 0600): otherwise another user could read the key or put one of theirs in its place, and it is a configuration error. " +
				"Packets are signed with the first key (HMAC-SHA256) and accepted with any, so a key can be rotated; with a key set, unsigned packets and wrong tags are dropped. " +
				"`failoverctl keygen FILE` makes a key.",
			Example: "/etc/ipfailover/key",
			set: func(c *Config, v string) *valueError {
				c.AuthKeyFiles = strings.Fields(v)
				return nil
			},
			format: func(c *Config) string { return strings.Join(c.AuthKeyFiles, " ") }},
		{Name: KeyHookDir, Roles: roleBoth, Default: "/etc/ipfailover", Darwin: "/Library/IPFailover", DarwinRoles: roleBoth,
			Doc: "The folder that holds one folder per public address, named by the address, with its `Test`, `PreAcq*`, `PostAcq*`, `PreRel*` and `PostRel*` hooks (failoverd) and its `Check*` service checks (heartbeatd); an absolute path. " +
				"See HOOKS in failoverd(8) and CHECKS in heartbeatd(8).",
			Example: "/etc/ipfailover",
			set: func(c *Config, v string) *valueError {
				c.HookDir = v
				return absolutePath(v, "write a path starting with /, such as "+Default(Failoverd, KeyHookDir), false)
			},
			format: func(c *Config) string { return c.HookDir }},
		durationKey(key{Name: KeyHookTimeout, Roles: roleFailoverOnly, Default: "60s",
			Doc:     "How long one hook may run, 1s or more; then its process group gets SIGTERM, and SIGKILL 2 seconds later.",
			Example: "5m"},
			time.Second, false, func(c *Config) *time.Duration { return &c.HookTimeout }),
		durationKey(key{Name: KeyCheckInterval, Roles: roleHeartbeatOnly, Default: "2s",
			Doc: "How often heartbeatd(8) runs the `Check*` hooks of its addresses' folders, 100ms or more; a round that takes longer is followed by the next at once. " +
				"A check never delays a heartbeat.",
			Example: "5s"},
			100*time.Millisecond, false, func(c *Config) *time.Duration { return &c.CheckInterval }),
		durationKey(key{Name: KeyCheckTimeout, Roles: roleHeartbeatOnly, Default: "5s",
			Doc:     "How long one check may run, 100ms or more; then its process group gets SIGTERM, and SIGKILL 2 seconds later, and the check counts as failed.",
			Example: "2s"},
			100*time.Millisecond, false, func(c *Config) *time.Duration { return &c.CheckTimeout }),
		countKey(key{Name: KeyCheckFall, Roles: roleHeartbeatOnly, Default: "3",
			Doc:     "How many rounds of checks in a row must fail, 1 to 100, before the service counts as unhealthy and heartbeatd(8) gives its service addresses up.",
			Example: "2"},
			100, func(c *Config) *int { return &c.CheckFall }),
		countKey(key{Name: KeyCheckRise, Roles: roleHeartbeatOnly, Default: "2",
			Doc:     "How many rounds of checks in a row must pass, 1 to 100, before an unhealthy service counts as healthy again.",
			Example: "3"},
			100, func(c *Config) *int { return &c.CheckRise }),
		durationKey(key{Name: KeyInitialGrace, Roles: roleFailoverOnly, Default: "30s",
			Doc: "After failoverd(8) starts, how long it waits for a first heartbeat before it may take over (at least the timeout), " +
				"so that a secondary started before its primary does not take the address.",
			Example: "2m"},
			0, false, func(c *Config) *time.Duration { return &c.InitialGrace }),
		durationKey(key{Name: KeyHoldDown, Roles: roleBoth, Default: "10s",
			Doc: "How long heartbeats must be back, without a gap, before the addresses are given back, so that a flapping link does not bounce them. " +
				"heartbeatd(8) reads it too (set it to the secondary's value): a host that answers for a service address at its start for longer than this and 10s more, without a released, is a conflict notice.",
			Example: "1m"},
			0, false, func(c *Config) *time.Duration { return &c.HoldDown }),
		durationKey(key{Name: KeyAskWait, Roles: roleBoth, Default: "2ms",
			Doc: "How long an address must go unanswered, asked three times in it, to count as free: after a goodbye (failoverd(8)), and before heartbeatd(8) adds a service address (it waits 300ms at least, and this alone after the secondary's released). " +
				"While the primary is suspected failoverd asks every thirtieth of the timeout (at least a third of this, at most 100ms) and needs three unanswered questions (sixteen in a row once the primary's MAC, or two answers, came in that run). " +
				"Raise it on a network where answers take longer.",
			Example: "5ms"},
			300*time.Microsecond, false, func(c *Config) *time.Duration { return &c.AskWait }),
		durationKey(key{Name: KeyGoodbyeWait, Roles: roleFailoverOnly, Default: "30s",
			Doc: "After the primary's goodbye, how long its addresses may go on answering before that is a conflict: " +
				"failoverd(8) takes them over the moment they stop answering (a service address heartbeatd removed, or the primary's host shut down).",
			Example: "1m"},
			time.Millisecond, false, func(c *Config) *time.Duration { return &c.GoodbyeWait }),
		durationKey(key{Name: KeyConflictTest, Roles: roleFailoverOnly, Default: "10s", Means: "never",
			Doc: "How long a conflict (the primary silent, its address still answered) lasts before failoverd(8) runs the Test hooks for it, with FAILOVER_REASON starting `conflict:`, so that a fencing Test can power the primary off; " +
				"again every 30s while it lasts. The takeover follows once the address stops answering.",
			Example: "1m"},
			time.Second, true, func(c *Config) *time.Duration { return &c.ConflictTest }),
		{Name: KeyConfirm, Roles: roleFailoverOnly, Default: "-YES-",
			Doc: "Confirm a silent primary by asking its host (`-YES-`), or wait for the timeout alone (`-NO-`). " +
				"When its heartbeat is late on every link by a quarter of its interval, or a heartbeat link loses its carrier, failoverd(8) sends ARP requests (IPv6: neighbour solicitations) for the address the heartbeats come from on each link, FAILOVER_CONFIRM_PROBES of them, FAILOVER_CONFIRM_SPACING apart; " +
				"its kernel answers them even when heartbeatd is stopped. No answer on any link: the takeover starts at once. " +
				"Any answer: the usual rules apply. See Confirming a silent primary in failoverd(8), with the arithmetic under loss. Linux only.",
			Example: "-NO-",
			set: func(c *Config, v string) *valueError {
				b, err := parseBool(v)
				c.Confirm = b
				return err
			},
			format: func(c *Config) string { return formatBool(c.Confirm) }},
		countKey(key{Name: KeyConfirmProbes, Roles: roleFailoverOnly, Default: "4",
			Doc: "How many probes per link must all go unanswered to confirm the primary gone, 1 to 50. " +
				"Fewer than twice FAILOVER_DEAD_COUNT less one makes a false takeover under loss likelier than with the timeout alone.",
			Example: "6"},
			50, func(c *Config) *int { return &c.ConfirmProbes }),
		durationKey(key{Name: KeyConfirmSpacing, Roles: roleFailoverOnly, Default: "0", Means: "a two-hundredth of the primary's interval, from 1ms to 5ms",
			Doc: "The time between two probes, 100us or more; the last probe is given as long for its answer, 1ms at least. " +
				"Raise it on a network where the primary's answers take longer.",
			Example: "10ms"},
			100*time.Microsecond, true, func(c *Config) *time.Duration { return &c.ConfirmSpacing }),
		{Name: KeyAutoGiveBack, Roles: roleFailoverOnly, Default: "-YES-",
			Doc:     "Give the addresses back when the primary returns (`-YES-`), or keep them, with a notice, until `failoverctl release` (`-NO-`).",
			Example: "-NO-",
			set: func(c *Config, v string) *valueError {
				b, err := parseBool(v)
				c.AutoGiveBack = b
				return err
			},
			format: func(c *Config) string { return formatBool(c.AutoGiveBack) }},
		{Name: KeyAnnRepeats, Roles: roleBoth, Default: "3",
			Doc: "After the first burst of two gratuitous ARPs (IPv6: neighbour advertisements), how many more to send, FAILOVER_ANNOUNCE_SPACING apart, 0 to 100: some switches and hosts miss the first. " +
				"failoverd(8) announces an address it takes over; heartbeatd(8) re-announces its own at start, on SIGHUP and when the secondary released them. " +
				"Linux only.",
			Example: "5",
			set: func(c *Config, v string) *valueError {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > 100 {
					return &valueError{"not a count from 0 to 100", "write a whole number such as 3"}
				}
				c.AnnounceRepeats = n
				return nil
			},
			format: func(c *Config) string { return strconv.Itoa(c.AnnounceRepeats) }},
		durationKey(key{Name: KeyAnnSpacing, Roles: roleBoth, Default: "1100ms",
			Doc:     "The time between those repeated announcements, 10ms or more.",
			Example: "2s"},
			10*time.Millisecond, false, func(c *Config) *time.Duration { return &c.AnnounceSpacing }),
		durationKey(key{Name: KeyAnnRefresh, Roles: roleFailoverOnly, Default: "0", Means: "never",
			Doc:     "While failoverd(8) holds an address, re-announce it this often; 1s or more.",
			Example: "1m"},
			time.Second, true, func(c *Config) *time.Duration { return &c.AnnounceRefresh }),
		durationKey(key{Name: KeyReconcile, Roles: roleFailoverOnly, Default: "5s",
			Doc: "How often failoverd(8) checks that the addresses it holds are still on their interfaces, " +
				"and adds back and re-announces any that vanished; 100ms or more.",
			Example: "1s"},
			100*time.Millisecond, false, func(c *Config) *time.Duration { return &c.ReconcileInterval }),
		{Name: KeyControlSocket, Roles: roleFailoverOnly,
			// Not /var/run on macOS: group daemon may write to it there.
			Default: "/run/ipfailover/failoverd.sock", Darwin: "/var/db/ipfailover/failoverd.sock", DarwinRoles: roleFailoverOnly,
			// The limits are those of the socket address on each system
			// (see sockpath.go), less the terminating NUL.
			Doc: "The unix socket, mode 0600, failoverctl(8) talks to failoverd(8) on; an absolute path of at most 107 bytes (103 on macOS), the most a socket address holds. " +
				socketFolderDoc("failoverd(8)", "failoverd.sock") +
				"failoverctl(8) does not read this file: give it the same path with its own `--control-socket`.",
			Example: "/run/ipfailover/failoverd.sock",
			set: func(c *Config, v string) *valueError {
				c.ControlSocket = v
				if err := absolutePath(v, "write a path such as "+DefaultControlSocket(), false); err != nil {
					return err
				}
				return socketPathFits(v, DefaultControlSocket())
			},
			format: func(c *Config) string { return c.ControlSocket }},
		{Name: KeyLockSocket, Roles: roleHeartbeatOnly,
			Default: "/run/heartbeatd/heartbeatd.sock", Darwin: "/var/db/heartbeatd/heartbeatd.sock", DarwinRoles: roleHeartbeatOnly,
			Doc: "The unix socket, mode 0600, heartbeatd(8) listens on while it runs, so that one runs per configuration: a heartbeatd started while another answers on the same path refuses to start, naming the other's pid, and exits 1. " +
				"Two at once would send heartbeats of two runs, of which failoverd(8) hears only the newer: when that one stops, its goodbye makes failoverd take over while the older still runs. " +
				"An absolute path of at most 107 bytes (103 on macOS); give each heartbeatd of one host its own only when it serves another pair. " +
				socketFolderDoc("heartbeatd(8)", "heartbeatd.sock") + "Read at start only.",
			Example: "/run/heartbeatd/heartbeatd.sock",
			set: func(c *Config, v string) *valueError {
				c.LockSocket = v
				if err := absolutePath(v, "write a path such as "+Default(Heartbeatd, KeyLockSocket), false); err != nil {
					return err
				}
				return socketPathFits(v, Default(Heartbeatd, KeyLockSocket))
			},
			format: func(c *Config) string { return c.LockSocket }},
		{Name: KeyStateDir, Roles: roleFailoverOnly, Default: "/var/lib/ipfailover", Darwin: "/var/db/ipfailover", DarwinRoles: roleFailoverOnly,
			Doc: "The folder where failoverd(8) keeps what it must remember across a restart: the primary's runs it heard (the epochs of each heartbeatd(8) start) and the latest heartbeat it accepted of the current one, so that a recording of an earlier run, replayed after failoverd restarts, is still refused. " +
				"An absolute path. failoverd makes the folder (mode 0700) and does not use it, or does not read the file in it, when a user other than root could change them. " +
				"Empty: nothing is kept, and a restarted failoverd remembers no run. See ATTACKERS in failoverd(8).",
			Example: "/var/lib/ipfailover",
			set: func(c *Config, v string) *valueError {
				c.StateDir = v
				return absolutePath(v, "write a path starting with /, such as "+Default(Failoverd, KeyStateDir)+", or leave it empty to keep nothing", true)
			},
			format: func(c *Config) string { return c.StateDir }},
		{Name: KeySendmail, Roles: roleBoth, Default: "/usr/sbin/sendmail",
			Doc: "The sendmail program notices are mailed through, as `sendmail -t -i`; an absolute path, or empty for no mail. " +
				"It runs as root, so it and every folder above it, up to `/`, must be owned by root (or by the user the daemon runs as) and not writable by group or others, as the hooks must be (see HOOKS in failoverd(8)): otherwise it is a configuration error, and one that becomes so later is not run. " +
				"`failoverd -n` (and `heartbeatd -n` with FAILOVER_SERVICE_IPS) checks that it is an executable file: without it, and with no FAILOVER_NOTIFY_COMMAND, no notice reaches anyone.",
			Example: `""`,
			set: func(c *Config, v string) *valueError {
				c.Sendmail = v
				return absolutePath(v, "write a path such as "+Default(Failoverd, KeySendmail)+", or leave it empty for no mail", true)
			},
			format: func(c *Config) string { return c.Sendmail }},
		{Name: KeyNotifyCommand, Roles: roleBoth, Means: "none",
			Doc: "The absolute path of a program, run without arguments, that gets each notice as one JSON object on its standard input, for a chat or a pager. " +
				"It runs as root, so it and every folder above it, up to `/`, must be owned by root (or by the user the daemon runs as) and not writable by group or others, as the hooks must be (see HOOKS in failoverd(8)): otherwise it is a configuration error, and one that becomes so later is not run. " +
				"`failoverd -n` (and `heartbeatd -n` with FAILOVER_SERVICE_IPS) checks that it is an executable file.",
			Example: "/usr/local/libexec/notify-chat",
			set: func(c *Config, v string) *valueError {
				c.NotifyCommand = v
				return absolutePath(v, "write the program's full path", true)
			},
			format: func(c *Config) string { return c.NotifyCommand }},
		{Name: KeyLegacy, Roles: roleFailoverOnly, Default: "-NO-",
			Doc: "Also accept the bare-text heartbeat of the original heartbeatd(8), to back an old Mac OS X Server primary. " +
				"It must be exactly FAILOVER_MESSAGE and come from one of the primary's addresses. " +
				"It cannot be authenticated, so `-YES-` together with FAILOVER_AUTH_KEY_FILE is a configuration error.",
			Example: "-YES-",
			set: func(c *Config, v string) *valueError {
				b, err := parseBool(v)
				c.Legacy = b
				return err
			},
			format: func(c *Config) string { return formatBool(c.Legacy) }},
		{Name: KeyLogFile, Roles: roleBoth, Darwin: "/Library/Logs/failoverd.log", DarwinRoles: roleFailoverOnly,
			Doc:     "Also log to this file; an absolute path. It is reopened on SIGHUP.",
			Example: "/var/log/ipfailover.log",
			set: func(c *Config, v string) *valueError {
				c.LogFile = v
				return absolutePath(v, "write a path starting with /, such as /var/log/ipfailover.log", true)
			},
			format: func(c *Config) string { return c.LogFile }},
		{Name: KeyLogFacility, Roles: roleBoth, Means: "log to standard error",
			Doc:     "Log to syslog(3) with this facility instead: `daemon`, `auth`, `user` or `local0` to `local7`.",
			Example: "daemon",
			set: func(c *Config, v string) *valueError {
				if v != "" && !validFacility(v) {
					return &valueError{"not a syslog facility", "use daemon, auth, user or local0 to local7"}
				}
				c.SyslogFacility = v
				return nil
			},
			format: func(c *Config) string { return c.SyslogFacility }},
		{Name: KeyMetricsAddr, Roles: roleBoth, Means: "off: no metrics endpoint",
			Doc: "Where the daemon serves Prometheus metrics (`/metrics`, plain HTTP, nothing else): an IP address, which takes the daemon's own port (" +
				strconv.Itoa(MetricsPortFailoverd) + " for failoverd(8), " + strconv.Itoa(MetricsPortHeartbeatd) + " for heartbeatd(8)), or `address:port`. " +
				"One value serves both servers' files. The endpoint has no authentication: keep it on a loopback or management address. " +
				"`failoverctl events` shows failoverd's recent history without it.",
			Example: "127.0.0.1",
			set: func(c *Config, v string) *valueError {
				c.MetricsAddr = v
				return parseMetricsAddr(v)
			},
			format: func(c *Config) string { return c.MetricsAddr }},
	}
}

func lookupKey(name string) *key {
	for _, k := range keys {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// suggest returns the known key nearest to an unknown one, for a typo.
func suggest(name string) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	return Nearest(name, names)
}

// Nearest returns what an unknown name most likely meant among names,
// for a "did you mean": the one name it begins (a word cut short, such
// as --conf for --config), or else the nearest within an edit for every
// three letters of it, three at most (--jsn for --json, not --nope for
// --port); "" when none is.
func Nearest(name string, names []string) string {
	var starts []string
	for _, n := range names {
		if name != "" && strings.HasPrefix(n, name) {
			starts = append(starts, n)
		}
	}
	if len(starts) == 1 {
		return starts[0]
	}
	best, bestDist := "", min(3, len(name)/3)+1
	for _, n := range names {
		// Lengths this far apart cannot be that close; and a pasted blob
		// of a name costs nothing.
		if abs(len(name)-len(n)) >= bestDist {
			continue
		}
		if d := editDistance(name, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// socketFolderDoc is what the socket keys' docs say of the lock and the
// folder, for daemon (failoverd(8), heartbeatd(8)) and its socket's
// default name.
func socketFolderDoc(daemon, name string) string {
	return "Of two started at the same moment, exactly one runs: each first locks the file beside the socket named as it with .lock added (" + name + ".lock), and holds the lock while it runs. " +
		"The folder, and every folder above it, must be root's (or the user's that " + daemon + " runs as) and not writable by group or others, " +
		"as the folders of the key files: anyone who could write there could listen first, or remove the socket so that a second one starts beside the first. " +
		"Another folder is a configuration error (exit 78) naming the folder and the fix. " +
		"On macOS the default is not under /var/run, which group daemon may write to. "
}
