package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ipfailover.conf")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// The lines Apple's manual gives for the primary and the secondary, in a
// hostconfig full of keys that are not ours.
func TestOriginalHostconfig(t *testing.T) {
	c, err := Load(Heartbeatd, Sources{File: "testdata/hostconfig.primary", FileExplicit: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.BcastIPs, addrs("10.0.0.255", "100.0.255.255"); !slicesEqual(got, want) {
		t.Fatalf("targets %v, want %v", got, want)
	}
	if c.Port != 1694 || c.Interval != time.Second || c.Message != "heartbeat" {
		t.Fatalf("defaults: port %d interval %v message %q", c.Port, c.Interval, c.Message)
	}
	if o := c.origins[KeyBcastIPs]; o.File != "testdata/hostconfig.primary" || o.Line != 34 {
		t.Fatalf("origin %v", o)
	}

	c, err = Load(Failoverd, Sources{File: "testdata/hostconfig.secondary", FileExplicit: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.PeerIP != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("peer %v", c.PeerIP)
	}
	want := []Pair{{Interface: "en0", Addr: netip.MustParseAddr("100.0.0.10"), Bits: -1}}
	if len(c.Pairs) != 1 || c.Pairs[0] != want[0] {
		t.Fatalf("pairs %+v", c.Pairs)
	}
	if c.EmailRecipient != "admin@example.com" || !c.AutoGiveBack || c.DeadCount != 3 {
		t.Fatalf("email %q autogiveback %v deadcount %d", c.EmailRecipient, c.AutoGiveBack, c.DeadCount)
	}
}

func slicesEqual(a, b []netip.Addr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSyntax(t *testing.T) {
	s, err := Parse(strings.NewReader(`# comment
; also a comment

FAILOVER_MESSAGE="say \"hi\" \\ \$HOME"   # trailing comment
FAILOVER_NODE_NAME='a # b'
  FAILOVER_LOG_FILE=/var/log/ipfailover.log
export FAILOVER_PORT=1700
FAILOVER_INTERVAL=
UNRELATED=value with spaces and "quotes
ANOTHER
`), "t")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		KeyMessage:  `say "hi" \ $HOME`,
		KeyNodeName: "a # b",
		KeyLogFile:  "/var/log/ipfailover.log",
		KeyPort:     "1700",
		KeyInterval: "",
	}
	for k, v := range want {
		if s[k].Value != v {
			t.Errorf("%s = %q, want %q", k, s[k].Value, v)
		}
	}
	if s[KeyPort].Origin.Line != 7 {
		t.Errorf("line of %s: %d", KeyPort, s[KeyPort].Origin.Line)
	}
	if _, ok := s["UNRELATED"]; ok {
		t.Error("unrelated keys must be ignored")
	}
}

// Every problem names file, line and key, says what is wrong and what
// would be right.
func TestFileErrors(t *testing.T) {
	cases := []struct {
		line, key, problem, hint string
	}{
		{`FAILOVER_BCAST_IPS=10.0.0.255 100.0.255.255`, KeyBcastIPs, `unexpected "100.0.255.255"`, `quote a value`},
		{`FAILOVER_BCAST_IPS="10.0.0.255 100.0.255.255`, KeyBcastIPs, "never closed", `FAILOVER_BCAST_IPS="value"`},
		{`FAILOVER_BCAST_IPS=”10.0.0.255 100.0.255.255”`, KeyBcastIPs, "typographic quote", "straight quotes"},
		{`FAILOVER_BCAST_IPS = "10.0.0.255"`, KeyBcastIPs, "space around '='", "no spaces"},
		{`FAILOVER_BCAST_IPS="10.0.0.256"`, KeyBcastIPs, `"10.0.0.256" is not an IP address`, "separated by spaces"},
		{`FAILOVER_BCAST_IPS`, KeyBcastIPs, "no '='", "FAILOVER_BCAST_IPS=value"},
		{`FAILOVER_INTERVAL=fast`, KeyInterval, "not a duration", "250ms"},
		{`FAILOVER_INTERVAL=1ms`, KeyInterval, "shorter than 10ms", "10ms or more"},
		{`FAILOVER_PORT=70000`, KeyPort, "not a port number", "1694"},
		{`FAILOVER_LOG_FACILITY=local9`, KeyLogFacility, "not a syslog facility", "local0 to local7"},
		{"FAILOVER_MESSAGE=\"caf\xe9\"", KeyMessage, "not UTF-8 text", "UTF-8"},
		{`FAILOVER_LOG_FILE=ipfailover.log`, KeyLogFile, "not an absolute path", "/var/log"},
	}
	for _, c := range cases {
		path := writeFile(t, "HOSTNAME=-AUTOMATIC-\n"+c.line+"\n")
		_, err := Load(Heartbeatd, Sources{File: path, FileExplicit: true})
		if err == nil {
			t.Errorf("%s: no error", c.line)
			continue
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%s: %T %v", c.line, err, err)
			continue
		}
		msg := err.Error()
		for _, want := range []string{path + ":2: ", c.key, c.problem, c.hint} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s:\n error %q\n lacks %q", c.line, msg, want)
			}
		}
	}
}

// An unknown FAILOVER_ key is ignored, as the original ignored keys it
// did not know, but said, with the likely key it meant.
func TestUnknownKeyIsAWarning(t *testing.T) {
	path := writeFile(t, "FAILOVER_BCAST_IPS=\"192.0.2.255\"\nFAILOVER_INTERVALL=2s\n")
	c, err := Load(Heartbeatd, Sources{File: path})
	if err != nil {
		t.Fatal(err)
	}
	if c.Interval != time.Second {
		t.Errorf("interval %v", c.Interval)
	}
	if len(c.Warnings) != 1 || c.Warnings[0].Error() != path+":2: FAILOVER_INTERVALL: unknown key, ignored; did you mean FAILOVER_INTERVAL?" {
		t.Errorf("warnings %v", c.Warnings)
	}
}

func TestAllErrorsReported(t *testing.T) {
	path := writeFile(t, "FAILOVER_PORT=x\nFAILOVER_INTERVAL=y\nFAILOVER_BCAST_IPS=\"192.0.2.255\"\n")
	_, err := Load(Heartbeatd, Sources{File: path})
	if n := len(Errors(err)); n != 2 {
		t.Fatalf("want 2 errors, got %d: %v", n, err)
	}
}

func TestPrecedence(t *testing.T) {
	path := writeFile(t, "FAILOVER_BCAST_IPS=\"192.0.2.255\"\nFAILOVER_PORT=1700\nFAILOVER_INTERVAL=2s\n")
	fs := pflag.NewFlagSet("heartbeatd", pflag.ContinueOnError)
	flags := BindFlags(fs, Heartbeatd)
	if err := fs.Parse([]string{"-p", "1800", "198.51.100.255", "203.0.113.255"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Heartbeatd, Sources{File: path, Args: fs.Args(), Flags: flags()})
	if err != nil {
		t.Fatal(err)
	}
	if !slicesEqual(c.BcastIPs, addrs("198.51.100.255", "203.0.113.255")) {
		t.Errorf("arguments must override the file: %v", c.BcastIPs)
	}
	if c.Port != 1800 {
		t.Errorf("flag must override the file: port %d", c.Port)
	}
	if c.Interval != 2*time.Second {
		t.Errorf("file must override the default: interval %v", c.Interval)
	}
	if o := c.origins[KeyPort].String(); o != "command line (-p/--port)" {
		t.Errorf("origin %q", o)
	}
	// A bad flag value names the flag.
	fs = pflag.NewFlagSet("heartbeatd", pflag.ContinueOnError)
	flags = BindFlags(fs, Heartbeatd)
	_ = fs.Parse([]string{"--interval", "5ms", "192.0.2.255"})
	_, err = Load(Heartbeatd, Sources{Args: fs.Args(), Flags: flags()})
	if err == nil || !strings.Contains(err.Error(), "command line (--interval): FAILOVER_INTERVAL=5ms: shorter than 10ms") {
		t.Errorf("flag error: %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := Load(Heartbeatd, Sources{File: "/nonexistent/ipfailover", Args: []string{"192.0.2.255"}}); err != nil {
		t.Errorf("a missing default file is not an error: %v", err)
	}
	_, err := Load(Heartbeatd, Sources{File: "/nonexistent/ipfailover", FileExplicit: true, Args: []string{"192.0.2.255"}})
	if err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("a missing --config file is an error: %v", err)
	}
}

func TestRoleRequirements(t *testing.T) {
	_, err := Load(Heartbeatd, Sources{})
	if err == nil || !strings.Contains(err.Error(), "FAILOVER_BCAST_IPS: not set; give ip_addr arguments") {
		t.Errorf("heartbeatd without targets: %v", err)
	}
	_, err = Load(Failoverd, Sources{Args: []string{"10.0.0.1"}})
	if err == nil || !strings.Contains(err.Error(), "without any interface:pub_addr") {
		t.Errorf("failoverd without pairs: %v", err)
	}
	c, err := Load(Failoverd, Sources{Args: []string{"10.0.0.1", "en0:100.0.0.10/32", "en1:[2001:db8::10]/64"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Pairs) != 2 || c.Pairs[0].Bits != 32 || c.Pairs[1].Addr != netip.MustParseAddr("2001:db8::10") {
		t.Errorf("pairs %+v", c.Pairs)
	}
	_, err = Load(Failoverd, Sources{Args: []string{"10.0.0.1", "en0:10.0.0.1"}})
	if err == nil || !strings.Contains(err.Error(), "private address is listed as a public address") {
		t.Errorf("peer as pair: %v", err)
	}
}

func TestParsePair(t *testing.T) {
	good := map[string]Pair{
		"en0:100.0.0.10":               {"en0", netip.MustParseAddr("100.0.0.10"), -1},
		"eth0:203.0.113.7/24":          {"eth0", netip.MustParseAddr("203.0.113.7"), 24},
		"eth0:203.0.113.7/255.255.0.0": {"eth0", netip.MustParseAddr("203.0.113.7"), 16},
		"eth0:[2001:db8::10]":          {"eth0", netip.MustParseAddr("2001:db8::10"), -1},
		"eth0:[2001:db8::10]/64":       {"eth0", netip.MustParseAddr("2001:db8::10"), 64},
	}
	for s, want := range good {
		got, err := parsePair(s)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v", s, got, err)
		}
		if got.String() != s && !strings.Contains(s, "255.255") {
			t.Errorf("%s prints as %s", s, got)
		}
	}
	for _, s := range []string{"100.0.0.10", "en0:", ":100.0.0.10", "en0:100.0.0.10/33", "en0:100.0.0.10/255.0.255.0",
		"en0:2001:db8::10", "en0:[2001:db8::10", "en0:100.0.0.10/", "en0:host.example"} {
		if _, err := parsePair(s); err == nil {
			t.Errorf("%s: accepted", s)
		}
	}
}

func TestKeyFileErrorsAreConfigErrors(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte("0123456789abcdef0123456789abcdef"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "FAILOVER_AUTH_KEY_FILE="+key+"\n")
	_, err := Load(Heartbeatd, Sources{File: path, Args: []string{"192.0.2.255"}})
	if err == nil || !strings.Contains(err.Error(), path+":1: FAILOVER_AUTH_KEY_FILE") || !strings.Contains(err.Error(), "chmod go-rwx "+key) {
		t.Fatalf("world-readable key: %v", err)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(Heartbeatd, Sources{File: path, Args: []string{"192.0.2.255"}})
	if err != nil || len(c.Keys) != 1 || !c.Keyring().Enabled() {
		t.Fatalf("key not loaded: %v", err)
	}
}

// A key too short says its fix once: the generic advice for a key file
// that cannot be read does not follow it.
func TestShortKeySaysItsAdviceOnce(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(key, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "FAILOVER_AUTH_KEY_FILE="+key+"\n")
	_, err := Load(Heartbeatd, Sources{File: path, Args: []string{"192.0.2.255"}})
	if err == nil || !strings.Contains(err.Error(), path+":1: FAILOVER_AUTH_KEY_FILE: "+key+": key is 5 bytes; it must hold at least 16 bytes") {
		t.Fatalf("short key: %v", err)
	}
	if n := strings.Count(err.Error(), "failoverctl keygen"); n != 1 {
		t.Errorf("the message names failoverctl keygen %d times: %v", n, err)
	}
	if strings.Contains(err.Error(), "check the path") {
		t.Errorf("the message advises what does not apply to a key that was read: %v", err)
	}
	// A key file that is not there still gets that advice.
	path = writeFile(t, "FAILOVER_AUTH_KEY_FILE="+key+".gone\n")
	if _, err := Load(Heartbeatd, Sources{File: path, Args: []string{"192.0.2.255"}}); err == nil || !strings.Contains(err.Error(), "make a key with: failoverctl keygen FILE") {
		t.Errorf("missing key: %v", err)
	}
}

func TestFormatShowsOrigins(t *testing.T) {
	c, err := Load(Heartbeatd, Sources{File: "testdata/hostconfig.primary"})
	if err != nil {
		t.Fatal(err)
	}
	out := c.Format(Heartbeatd)
	for _, want := range []string{
		"FAILOVER_BCAST_IPS=\"10.0.0.255 100.0.255.255\"\t# testdata/hostconfig.primary:34\n",
		"FAILOVER_PORT=1694\t# default\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("format lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, KeyPeerIP) {
		t.Errorf("heartbeatd's view shows failoverd's keys:\n%s", out)
	}
}

func TestErrorsInLineOrder(t *testing.T) {
	path := writeFile(t, "FAILOVER_LOG_FILE=x\nFAILOVER_PORT=x\nFAILOVER_LOG_FACILITY=x\nFAILOVER_INTERVAL=y\n")
	_, err := Load(Heartbeatd, Sources{File: path, Args: []string{"192.0.2.255"}})
	errs := Errors(err)
	if len(errs) != 4 {
		t.Fatalf("%d errors: %v", len(errs), err)
	}
	for i, e := range errs {
		if want := fmt.Sprintf("%s:%d:", path, i+1); !strings.HasPrefix(e.Error(), want) {
			t.Errorf("error %d is %q, want it to start %q", i, e, want)
		}
	}
}

// FuzzParse: no file content makes the parser panic, and every value it
// returns came from a FAILOVER_ line.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/hostconfig.primary", "testdata/hostconfig.secondary"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("FAILOVER_MESSAGE=\"a \\\" b\" # c\nFAILOVER_X='y")
	f.Fuzz(func(t *testing.T, s string) {
		got, _ := Parse(strings.NewReader(s), "fuzz")
		for k, v := range got {
			if !strings.HasPrefix(k, "FAILOVER_") || v.Origin.Line < 1 {
				t.Fatalf("parsed %q=%q at line %d", k, v.Value, v.Origin.Line)
			}
		}
	})
}

func TestPairPrefixFollowsTheMaskRule(t *testing.T) {
	for s, want := range map[string]string{
		"en0:100.0.0.10":         "100.0.0.10/32",
		"en0:100.0.0.10/32":      "100.0.0.10/32",
		"eth0:203.0.113.7/24":    "203.0.113.7/24",
		"eth0:[2001:db8::10]":    "2001:db8::10/128",
		"eth0:[2001:db8::10]/64": "2001:db8::10/64",
	} {
		p, err := parsePair(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Prefix(); got.String() != want {
			t.Errorf("%s installs %v, want %s", s, got, want)
		}
	}
}

func TestLegacyAndKeyAreExclusive(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "FAILOVER_LEGACY=-YES-\nFAILOVER_AUTH_KEY_FILE="+key+"\n")
	_, err := Load(Failoverd, Sources{File: path, Args: []string{"192.0.2.1", "eth0:198.51.100.1"}})
	if err == nil || !strings.Contains(err.Error(), path+":1: FAILOVER_LEGACY=-YES-: the original's bare-text heartbeat cannot be authenticated") {
		t.Fatalf("%v", err)
	}
}

// Several syntax errors in one file come out one by one, so each gets
// the daemon's prefix.
func TestErrorsFlattensTheFilesErrors(t *testing.T) {
	path := writeFile(t, "FAILOVER_PORT\nFAILOVER_INTERVAL=\"1s\nFAILOVER_BCAST_IPS=\"192.0.2.255\"\n")
	_, err := Load(Heartbeatd, Sources{File: path})
	errs := Errors(err)
	if len(errs) != 2 || strings.Contains(errs[0].Error(), "\n") {
		t.Fatalf("%d errors: %q", len(errs), errs)
	}
}
