package config

import (
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const keyPrefix = "FAILOVER_"

// MinInterval is the shortest heartbeat interval accepted.
const MinInterval = 10 * time.Millisecond

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
	KeyControlSocket  = "FAILOVER_CONTROL_SOCKET"
	KeySendmail       = "FAILOVER_SENDMAIL"
	KeyNotifyCommand  = "FAILOVER_NOTIFY_COMMAND"
	KeyLegacy         = "FAILOVER_LEGACY"
	roleBoth          = roleMask(1<<Heartbeatd | 1<<Failoverd)
	roleHeartbeatOnly = roleMask(1 << Heartbeatd)
	roleFailoverOnly  = roleMask(1 << Failoverd)
)

type roleMask uint8

// key describes one configuration key: its default, what it means, how to
// parse it into a Config and how to print it back.
type key struct {
	Name    string
	Roles   roleMask
	Default string
	Doc     string
	set     func(c *Config, v string) *valueError
	format  func(c *Config) string
}

func (k *key) usedBy(r Role) bool { return k.Roles&(1<<r) != 0 }

// DefaultHookDir is where hook folders live unless FAILOVER_HOOK_DIR says
// otherwise: the original's path on macOS.
func DefaultHookDir() string {
	if runtime.GOOS == "darwin" {
		return "/Library/IPFailover"
	}
	return "/etc/ipfailover"
}

// DefaultControlSocket is where failoverd listens for failoverctl.
func DefaultControlSocket() string {
	if runtime.GOOS == "darwin" {
		return "/var/run/ipfailover/failoverd.sock"
	}
	return "/run/ipfailover/failoverd.sock"
}

// keys is the table of every key, in the order -n prints them.
var keys = []*key{
	{KeyBcastIPs, roleHeartbeatOnly, "",
		"Addresses heartbeatd sends heartbeats to, separated by spaces: the broadcast address of each link (private first), or the secondary's unicast addresses.",
		func(c *Config, v string) *valueError {
			a, err := parseAddrList(v)
			c.BcastIPs = a
			return err
		},
		func(c *Config) string { return joinAddrs(c.BcastIPs) }},
	{KeyPeerIP, roleFailoverOnly, "",
		"The primary's private address (failoverd's master_priv_addr). Never taken over.",
		func(c *Config, v string) *valueError {
			a, err := parseAddr(v)
			c.PeerIP = a
			return err
		},
		func(c *Config) string { return addrString(c.PeerIP) }},
	{KeyPairs, roleFailoverOnly, "",
		"Public addresses of the primary that failoverd takes over, separated by spaces: interface:address[/mask], for example en0:100.0.0.10 or eth0:[2001:db8::10]/64. The mask is blank or /32 when the address is on the interface's own subnet.",
		func(c *Config, v string) *valueError {
			p, err := parsePairs(v)
			c.Pairs = p
			return err
		},
		func(c *Config) string {
			s := make([]string, len(c.Pairs))
			for i, p := range c.Pairs {
				s[i] = p.String()
			}
			return strings.Join(s, " ")
		}},
	{KeyEmail, roleFailoverOnly, "root",
		"Who gets mail on failover, give-back and a one-link anomaly.",
		func(c *Config, v string) *valueError {
			if strings.TrimSpace(v) == "" {
				return &valueError{"empty", "name a mail address, or remove the line to mail root"}
			}
			c.EmailRecipient = v
			return nil
		},
		func(c *Config) string { return c.EmailRecipient }},
	{KeyPort, roleBoth, "1694",
		"UDP port of the heartbeats (-p).",
		func(c *Config, v string) *valueError {
			n, err := strconv.ParseUint(v, 10, 16)
			if err != nil || n == 0 {
				return &valueError{"not a port number", "write a number from 1 to 65535 (the default is 1694)"}
			}
			c.Port = uint16(n)
			return nil
		},
		func(c *Config) string { return strconv.Itoa(int(c.Port)) }},
	{KeyInterval, roleHeartbeatOnly, "1s",
		"Time between heartbeats (--interval), 10ms or more. Each heartbeat carries it, so failoverd follows it.",
		func(c *Config, v string) *valueError {
			d, err := parseDuration(v, MinInterval)
			c.Interval = d
			return err
		},
		func(c *Config) string { return c.Interval.String() }},
	{KeyDeadCount, roleFailoverOnly, "3",
		"How many heartbeat intervals of silence make a link dead.",
		func(c *Config, v string) *valueError {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return &valueError{"not a count from 1 to 1000", "write a whole number such as 3"}
			}
			c.DeadCount = n
			return nil
		},
		func(c *Config) string { return strconv.Itoa(c.DeadCount) }},
	{KeyTimeout, roleFailoverOnly, "0",
		"Silence after which a link is dead; 0 means the sender's interval × FAILOVER_DEAD_COUNT.",
		func(c *Config, v string) *valueError {
			if v == "0" {
				c.Timeout = 0
				return nil
			}
			d, err := parseDuration(v, 2*MinInterval)
			c.Timeout = d
			return err
		},
		func(c *Config) string { return c.Timeout.String() }},
	{KeyReplayWindow, roleFailoverOnly, "30s",
		"How far the send time of a restarted sender's first packet may be from this host's clock.",
		func(c *Config, v string) *valueError {
			d, err := parseDuration(v, time.Second)
			c.ReplayWindow = d
			return err
		},
		func(c *Config) string { return c.ReplayWindow.String() }},
	{KeyMessage, roleBoth, "heartbeat",
		"Text each heartbeat carries (heartbeatd -m), up to 1024 bytes; with FAILOVER_LEGACY, the bare text failoverd accepts from an original heartbeatd.",
		func(c *Config, v string) *valueError {
			if len(v) > 1024 {
				return &valueError{fmt.Sprintf("%d bytes long", len(v)), "keep it to 1024 bytes"}
			}
			if !utf8.ValidString(v) {
				return &valueError{"not UTF-8 text (a file saved as Latin-1 or MacRoman?)", "write it in UTF-8 or plain ASCII"}
			}
			c.Message = v
			return nil
		},
		func(c *Config) string { return c.Message }},
	{KeyNodeName, roleBoth, "",
		"This host's name in heartbeats and logs; empty means the host name.",
		func(c *Config, v string) *valueError {
			if len(v) > 64 {
				return &valueError{"longer than 64 bytes", "use a shorter name"}
			}
			if !utf8.ValidString(v) {
				return &valueError{"not UTF-8 text (a file saved as Latin-1 or MacRoman?)", "write it in UTF-8 or plain ASCII"}
			}
			c.NodeName = v
			return nil
		},
		func(c *Config) string { return c.NodeName }},
	{KeyAuthKeyFile, roleBoth, "",
		"Files with shared secrets (at least 16 bytes, mode 0600), separated by spaces. Heartbeats are signed with the first (HMAC-SHA256) and accepted with any, so keys can be rotated. Empty: no authentication.",
		func(c *Config, v string) *valueError {
			c.AuthKeyFiles = strings.Fields(v)
			return nil
		},
		func(c *Config) string { return strings.Join(c.AuthKeyFiles, " ") }},
	{KeyHookDir, roleFailoverOnly, DefaultHookDir(),
		"Folder holding one folder per public address with the Test, PreAcq, PostAcq, PreRel and PostRel hooks.",
		func(c *Config, v string) *valueError {
			if !strings.HasPrefix(v, "/") {
				return &valueError{"not an absolute path", "write a path starting with /, such as " + DefaultHookDir()}
			}
			c.HookDir = v
			return nil
		},
		func(c *Config) string { return c.HookDir }},
	{KeyHookTimeout, roleFailoverOnly, "60s",
		"How long one hook may run before it is killed.",
		func(c *Config, v string) *valueError {
			d, err := parseDuration(v, time.Second)
			c.HookTimeout = d
			return err
		},
		func(c *Config) string { return c.HookTimeout.String() }},
	{KeyInitialGrace, roleFailoverOnly, "30s",
		"After failoverd starts, how long it waits for a first heartbeat before it may take over.",
		func(c *Config, v string) *valueError {
			d, err := parseDuration(v, 0)
			c.InitialGrace = d
			return err
		},
		func(c *Config) string { return c.InitialGrace.String() }},
	{KeyHoldDown, roleFailoverOnly, "10s",
		"How long heartbeats must be back, without a gap, before the addresses are given back.",
		func(c *Config, v string) *valueError {
			d, err := parseDuration(v, 0)
			c.HoldDown = d
			return err
		},
		func(c *Config) string { return c.HoldDown.String() }},
	{KeyAutoGiveBack, roleFailoverOnly, "-YES-",
		"Give the addresses back when the primary returns (-YES-), or hold them until told to (-NO-).",
		func(c *Config, v string) *valueError {
			b, err := parseBool(v)
			c.AutoGiveBack = b
			return err
		},
		func(c *Config) string { return formatBool(c.AutoGiveBack) }},
	{KeyAnnRepeats, roleBoth, "3",
		"After the first burst of two gratuitous ARPs (IPv6: neighbour advertisements), how many more to send, FAILOVER_ANNOUNCE_SPACING apart: some switches and hosts miss the first.",
		func(c *Config, v string) *valueError {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 100 {
				return &valueError{"not a count from 0 to 100", "write a whole number such as 3"}
			}
			c.AnnounceRepeats = n
			return nil
		},
		func(c *Config) string { return strconv.Itoa(c.AnnounceRepeats) }},
	{KeyAnnSpacing, roleBoth, "1100ms",
		"Time between those repeated announcements.",
		func(c *Config, v string) *valueError {
			d, err := parseDuration(v, 10*time.Millisecond)
			c.AnnounceSpacing = d
			return err
		},
		func(c *Config) string { return c.AnnounceSpacing.String() }},
	{KeyAnnRefresh, roleFailoverOnly, "0",
		"While failoverd holds an address, re-announce it this often; 0: never.",
		func(c *Config, v string) *valueError {
			d, err := parseDuration(v, 0)
			if err == nil && d > 0 && d < time.Second {
				return &valueError{"shorter than 1s", "use 0 (off) or 1s or more"}
			}
			c.AnnounceRefresh = d
			return err
		},
		func(c *Config) string { return c.AnnounceRefresh.String() }},
	{KeyReconcile, roleFailoverOnly, "5s",
		"How often failoverd checks that the addresses it holds are still on their interfaces, and adds back and re-announces any that vanished.",
		func(c *Config, v string) *valueError {
			d, err := parseDuration(v, 100*time.Millisecond)
			c.ReconcileInterval = d
			return err
		},
		func(c *Config) string { return c.ReconcileInterval.String() }},
	{KeyControlSocket, roleFailoverOnly, DefaultControlSocket(),
		"The unix socket failoverctl talks to failoverd on (mode 0600).",
		func(c *Config, v string) *valueError {
			if !strings.HasPrefix(v, "/") {
				return &valueError{"not an absolute path", "write a path such as " + DefaultControlSocket()}
			}
			c.ControlSocket = v
			return nil
		},
		func(c *Config) string { return c.ControlSocket }},
	{KeySendmail, roleFailoverOnly, "/usr/sbin/sendmail",
		"The sendmail program notices are mailed through (sendmail -t); empty: no mail.",
		func(c *Config, v string) *valueError {
			if v != "" && !strings.HasPrefix(v, "/") {
				return &valueError{"not an absolute path", "write a path such as /usr/sbin/sendmail, or leave it empty for no mail"}
			}
			c.Sendmail = v
			return nil
		},
		func(c *Config) string { return c.Sendmail }},
	{KeyNotifyCommand, roleFailoverOnly, "",
		"A program that gets each notice as one JSON object on its standard input (chat, pager); empty: none.",
		func(c *Config, v string) *valueError {
			if v != "" && !strings.HasPrefix(v, "/") {
				return &valueError{"not an absolute path", "write the program's full path"}
			}
			c.NotifyCommand = v
			return nil
		},
		func(c *Config) string { return c.NotifyCommand }},
	{KeyLegacy, roleFailoverOnly, "-NO-",
		"Also accept the original heartbeatd's bare-text heartbeat (--legacy), to back an old Mac OS X Server primary; it cannot be authenticated.",
		func(c *Config, v string) *valueError {
			b, err := parseBool(v)
			c.Legacy = b
			return err
		},
		func(c *Config) string { return formatBool(c.Legacy) }},
	{KeyLogFile, roleBoth, "",
		"Also log to this file (--log-file). failoverd on macOS logs to /Library/Logs/failoverd.log unless this is set.",
		func(c *Config, v string) *valueError {
			if v != "" && !strings.HasPrefix(v, "/") {
				return &valueError{"not an absolute path", "write a path starting with /, such as /var/log/ipfailover.log"}
			}
			c.LogFile = v
			return nil
		},
		func(c *Config) string { return c.LogFile }},
	{KeyLogFacility, roleBoth, "",
		"Log to syslog with this facility (-L): daemon, auth, user or local0 to local7. Empty: log to standard error.",
		func(c *Config, v string) *valueError {
			if v != "" && !validFacility(v) {
				return &valueError{"not a syslog facility", "use daemon, auth, user or local0 to local7"}
			}
			c.SyslogFacility = v
			return nil
		},
		func(c *Config) string { return c.SyslogFacility }},
}

// KeyNames lists every key, in documentation order.
func KeyNames() []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Name
	}
	return names
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
	best, bestDist := "", 4
	for _, k := range keys {
		if d := editDistance(name, k.Name); d < bestDist {
			best, bestDist = k.Name, d
		}
	}
	return best
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

func validFacility(f string) bool {
	switch f {
	case "daemon", "auth", "user":
		return true
	}
	n, ok := strings.CutPrefix(f, "local")
	return ok && len(n) == 1 && n[0] >= '0' && n[0] <= '7'
}

// parseDuration takes a Go duration (1s, 250ms, 1m30s) or a bare number
// of seconds, as a shell-era config would have it.
func parseDuration(v string, floor time.Duration) (time.Duration, *valueError) {
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || secs < 0 || secs > 86400 {
			return 0, &valueError{"not a duration", "write seconds (2, 0.5) or a duration such as 1s, 250ms or 1m"}
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < floor {
		return 0, &valueError{"shorter than " + floor.String(), "use " + floor.String() + " or more"}
	}
	return d, nil
}

func parseBool(v string) (bool, *valueError) {
	switch strings.ToLower(v) {
	case "-yes-", "yes", "true", "on", "1":
		return true, nil
	case "-no-", "no", "false", "off", "0":
		return false, nil
	}
	return false, &valueError{"not -YES- or -NO-", "write -YES- or -NO-"}
}

func formatBool(b bool) string {
	if b {
		return "-YES-"
	}
	return "-NO-"
}

func parseAddr(v string) (netip.Addr, *valueError) {
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, &valueError{"not an IP address", "write one address such as 10.0.0.1"}
	}
	return a.Unmap(), nil
}

// parseAddrList splits on spaces and commas.
func parseAddrList(v string) ([]netip.Addr, *valueError) {
	var out []netip.Addr
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, &valueError{fmt.Sprintf("%q is not an IP address", f), "list addresses separated by spaces, such as \"10.0.0.255 100.0.255.255\""}
		}
		out = append(out, a.Unmap())
	}
	return out, nil
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func parsePairs(v string) ([]Pair, *valueError) {
	var out []Pair
	for _, f := range strings.Fields(v) {
		p, err := ParsePair(f)
		if err != nil {
			return nil, &valueError{err.Error(), "write interface:address[/mask], such as en0:100.0.0.10 or eth0:[2001:db8::10]/64"}
		}
		out = append(out, p)
	}
	return out, nil
}

// ParsePair parses interface:pub_addr[/mask]. The mask is a prefix length
// or a dotted IPv4 netmask; an IPv6 address goes in brackets.
func ParsePair(s string) (Pair, error) {
	ifname, rest, ok := strings.Cut(s, ":")
	if !ok || ifname == "" || rest == "" {
		return Pair{}, fmt.Errorf("%q is not interface:address", s)
	}
	if len(ifname) > 15 || strings.ContainsAny(ifname, "/ ") {
		return Pair{}, fmt.Errorf("%q is not an interface name", ifname)
	}
	addrPart, mask := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return Pair{}, fmt.Errorf("%q: '[' without ']'", s)
		}
		addrPart = rest[1:end]
		after := rest[end+1:]
		if after != "" {
			m, ok := strings.CutPrefix(after, "/")
			if !ok {
				return Pair{}, fmt.Errorf("%q: unexpected %q after the address", s, after)
			}
			mask = m
		}
	} else if a, m, ok := strings.Cut(rest, "/"); ok {
		addrPart, mask = a, m
	}
	addr, err := netip.ParseAddr(addrPart)
	if err != nil || addr.Zone() != "" {
		return Pair{}, fmt.Errorf("%q: %q is not an IP address", s, addrPart)
	}
	addr = addr.Unmap()
	if addr.Is6() && !strings.HasPrefix(rest, "[") {
		return Pair{}, fmt.Errorf("%q: put an IPv6 address in brackets, as %s:[%s]", s, ifname, addr)
	}
	p := Pair{Interface: ifname, Addr: addr, Bits: -1}
	if mask == "" {
		if strings.Contains(rest, "/") {
			return Pair{}, fmt.Errorf("%q: empty mask after '/'", s)
		}
		return p, nil
	}
	if n, err := strconv.Atoi(mask); err == nil {
		if n < 0 || n > addr.BitLen() {
			return Pair{}, fmt.Errorf("%q: mask /%d is out of range for this address", s, n)
		}
		p.Bits = n
		return p, nil
	}
	m, err := netip.ParseAddr(mask)
	if err != nil || !m.Is4() || !addr.Is4() {
		return Pair{}, fmt.Errorf("%q: %q is not a mask", s, mask)
	}
	bits, ok := maskBits(m)
	if !ok {
		return Pair{}, fmt.Errorf("%q: %s is not a contiguous netmask", s, mask)
	}
	p.Bits = bits
	return p, nil
}

func maskBits(m netip.Addr) (int, bool) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}
