package config

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite the generated key lists of the README and ipfailover(5)")

// generated are the pages that hold a list made from the key table,
// between two marker lines.
var generated = []struct {
	path, begin, end string
	list             func() string
}{
	{"../../docs/man/ipfailover.5",
		`.\" The key list is made from internal/config/keys.go: edit it there and run go generate ./internal/config.`,
		`.\" End of the generated key list.`, manKeys},
	{"../../README.md",
		"<!-- The table is made from internal/config/keys.go: edit it there and run go generate ./internal/config. -->",
		"<!-- End of the generated table. -->", markdownKeys},
}

// The pages say word for word what the key table says; go generate
// (go test -update) rewrites them.
func TestKeyDocsAreGenerated(t *testing.T) {
	for _, g := range generated {
		b, err := os.ReadFile(g.path)
		if err != nil {
			t.Fatal(err)
		}
		page := string(b)
		i := strings.Index(page, g.begin+"\n")
		j := strings.Index(page, g.end+"\n")
		if i < 0 || j < i {
			t.Errorf("%s: no lines %q and %q around the key list", g.path, g.begin, g.end)
			continue
		}
		i += len(g.begin) + 1
		want := page[:i] + g.list() + page[j:]
		if want == page {
			continue
		}
		if *update {
			if err := os.WriteFile(g.path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s: the key list differs from the key table in internal/config/keys.go; run go generate ./internal/config\n%s",
			g.path, firstDifference(page[i:j], g.list()))
	}
}

func firstDifference(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for n := range max(len(g), len(w)) {
		var gl, wl string
		if n < len(g) {
			gl = g[n]
		}
		if n < len(w) {
			wl = w[n]
		}
		if gl != wl {
			return "page:  " + gl + "\ntable: " + wl
		}
	}
	return ""
}

func TestEveryKeyIsDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k.Name] {
			t.Errorf("%s is in the table twice", k.Name)
		}
		seen[k.Name] = true
		if k.Doc == "" || k.Example == "" {
			t.Errorf("%s has no documentation or no example", k.Name)
		}
		if k.Required != "" && (k.Default != "" || k.Means != "") {
			t.Errorf("%s is required and has a default", k.Name)
		}
		if (k.Darwin != "") != (k.DarwinRoles != 0) || k.DarwinRoles&^k.Roles != 0 {
			t.Errorf("%s: a macOS default needs roles that use the key", k.Name)
		}
		// The example is a value the key takes.
		v := strings.Trim(k.Example, `"`)
		for _, r := range []Role{Heartbeatd, Failoverd} {
			if k.usedBy(r) {
				if err := k.set(&Config{}, v); err != nil {
					t.Errorf("%s=%s, the example: %s", k.Name, k.Example, err.problem)
				}
			}
			if k.usedBy(r) && k.Required == "" {
				if err := k.set(&Config{}, k.defaultFor(r, "linux")); err != nil {
					t.Errorf("%s: the default of %s on Linux: %s", k.Name, r, err.problem)
				}
				if err := k.set(&Config{}, k.defaultFor(r, "darwin")); err != nil {
					t.Errorf("%s: the default of %s on macOS: %s", k.Name, r, err.problem)
				}
			}
		}
	}
	for _, f := range flagKeys {
		if k := lookupKey(f.key); k == nil || f.roles&^k.Roles != 0 {
			t.Errorf("flag --%s overrides %s, which its daemons do not use", f.long, f.key)
		}
	}
}

// Each flag's help names its key and that key's default, from the table.
func TestFlagHelpComesFromTheTable(t *testing.T) {
	for _, role := range []Role{Heartbeatd, Failoverd} {
		fs := pflag.NewFlagSet(role.String(), pflag.ContinueOnError)
		BindFlags(fs, role)
		n := 0
		fs.VisitAll(func(f *pflag.Flag) {
			n++
			var k *key
			for _, fk := range flagKeys {
				if fk.long == f.Name {
					k = lookupKey(fk.key)
				}
			}
			if k == nil {
				t.Errorf("%s --%s overrides no key", role, f.Name)
				return
			}
			if !strings.Contains(f.Usage, k.Name) {
				t.Errorf("%s --%s: help %q does not name %s", role, f.Name, f.Usage, k.Name)
			}
			if d := Default(role, k.Name); f.Value.Type() != "bool" && !strings.Contains(f.Usage, "default "+d) && d != "" {
				t.Errorf("%s --%s: help %q does not give the default %s", role, f.Name, f.Usage, d)
			}
			if first := renderDoc(firstSentence(k.Doc), plainText); len(f.Usage) < len(first) || !strings.EqualFold(f.Usage[:len(first)], first) {
				t.Errorf("%s --%s: help %q is not the first sentence of the key's documentation", role, f.Name, f.Usage)
			}
		})
		if n == 0 {
			t.Errorf("%s has no flags for keys", role)
		}
	}
	if got, want := flagUsage(lookupKey(KeyPort), Heartbeatd, "linux", false), "the UDP port of the heartbeats, 1 to 65535; the same on both servers (FAILOVER_PORT; default 1694)"; got != want {
		t.Errorf("--port's help is %q, want %q", got, want)
	}
	if got, want := flagUsage(lookupKey(KeyLogFile), Failoverd, "darwin", false), "also log to this file; an absolute path (FAILOVER_LOG_FILE; default /Library/Logs/failoverd.log)"; got != want {
		t.Errorf("--log-file's help on macOS is %q, want %q", got, want)
	}
}

// The examples of -n in heartbeatd(8) and failoverd(8) show the defaults
// of the table, as -n prints them on Linux.
func TestManPagesShowTheTablesDefaults(t *testing.T) {
	line := regexp.MustCompile(`(?m)^(FAILOVER_[A-Z_]+)=(.*)\t# default$`)
	for page, role := range map[string]Role{"../../docs/man/heartbeatd.8": Heartbeatd, "../../docs/man/failoverd.8": Failoverd} {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		m := line.FindAllStringSubmatch(string(b), -1)
		if len(m) == 0 {
			t.Errorf("%s shows no default", page)
		}
		for _, l := range m {
			k := lookupKey(l[1])
			if k == nil || !k.usedBy(role) {
				t.Errorf("%s shows %s, which %s does not use", page, l[1], role)
				continue
			}
			if k.Name == KeyNodeName {
				continue // the host name
			}
			c := &Config{}
			if err := k.set(c, k.defaultFor(role, "linux")); err != nil {
				t.Fatal(err.problem)
			}
			if got := quoteIfNeeded(k.format(c)); got != l[2] {
				t.Errorf("%s shows %s=%s; the default is %s", page, k.Name, l[2], got)
			}
		}
	}
}

func TestRenderDoc(t *testing.T) {
	text := "Used by heartbeatd(8) (*ip_addr*), `-YES-` or `--control-socket`; see FAILOVER_PORT. Then `/etc/x` (`sendmail -t -i`)."
	for f, want := range map[docFormat]string{
		plainText: "Used by heartbeatd (ip_addr), -YES- or --control-socket; see FAILOVER_PORT. Then /etc/x (sendmail -t -i).",
		markdown:  "Used by heartbeatd (*ip_addr*), `-YES-` or `--control-socket`; see `FAILOVER_PORT`. Then `/etc/x` (`sendmail -t -i`).",
		mdoc: "Used by\n.Xr heartbeatd 8\n.Ar ( ip_addr ) ,\n.Li -YES-\nor\n.Fl \\-control-socket ;\nsee\n.Ev FAILOVER_PORT .\nThen\n" +
			".Pa /etc/x\n.Li ( sendmail -t -i ) .",
	} {
		if got := renderDoc(text, f); got != want {
			t.Errorf("format %d:\n%s\nwant\n%s", f, got, want)
		}
	}
}

// Outside the generated lists the pages name keys but do not repeat their
// defaults: "(default 1694)" or "FAILOVER_REPLAY_WINDOW (30 s)" would go
// stale when the table changes.
func TestPagesRepeatNoDefault(t *testing.T) {
	// A duration in its shortest form, so that 60s and 1m0s are one.
	norm := func(v string) string {
		if d, err := time.ParseDuration(v); err == nil {
			return d.String()
		}
		return v
	}
	defaults := map[string][]string{} // a default, written without blanks, to its keys
	for _, k := range keys {
		for _, d := range []string{k.Default, k.Darwin} {
			if d != "" {
				defaults[norm(d)] = append(defaults[norm(d)], k.Name)
			}
		}
	}
	token := regexp.MustCompile(`[^\s` + "`" + `,;:()]+`)
	seconds := regexp.MustCompile(`(\d) (m?s)\b`) // 30 s
	check := func(page, where, text string) {
		for _, tok := range token.FindAllString(seconds.ReplaceAllString(text, "$1$2"), -1) {
			tok = norm(strings.TrimSuffix(tok, "."))
			if names, ok := defaults[tok]; ok {
				t.Errorf("%s repeats the default %s (of %s) in %q; name the key instead", page, tok, strings.Join(names, ", "), where)
			}
		}
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	g := generated[1]
	i, j := strings.Index(string(readme), g.begin), strings.Index(string(readme), g.end)
	if i < 0 || j < i {
		t.Fatal("README.md has no generated key table")
	}
	prose := string(readme[:i]) + string(readme[j:])
	conf, err := os.ReadFile("../../init/ipfailover.conf")
	if err != nil {
		t.Fatal(err)
	}
	for page, text := range map[string]string{"README.md": prose, "init/ipfailover.conf": string(conf)} {
		for _, m := range regexp.MustCompile(`\bdefault:? ([^)\n;]*)`).FindAllStringSubmatch(text, -1) {
			check(page, m[0], m[1])
		}
	}
	for _, m := range regexp.MustCompile("`FAILOVER_[A-Z_]+`,? \\(([^)]*)\\)").FindAllStringSubmatch(prose, -1) {
		check("README.md", m[0], m[1])
	}
	// In a manual, the line after a key: ".Pq Ev KEY ,\n1694 by default"
	// or ".Ev KEY\n(30s) apart".
	after := regexp.MustCompile(`\.(?:Pq )?Ev FAILOVER_[A-Z_]+[^\n]*\n([^\n]*)`)
	for _, page := range []string{"heartbeatd.8", "failoverd.8", "failoverctl.8"} {
		b, err := os.ReadFile("../../docs/man/" + page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range after.FindAllStringSubmatch(string(b), -1) {
			if p := regexp.MustCompile(`^\(([^)]*)\)`).FindStringSubmatch(m[1]); p != nil {
				check(page, m[0], p[1])
			}
			if p := regexp.MustCompile(`(\S+) by default`).FindStringSubmatch(m[1]); p != nil {
				check(page, m[0], p[1])
			}
		}
	}
}

func TestDefaultSenderInterval(t *testing.T) {
	c, err := Load(Heartbeatd, Sources{Args: []string{"192.0.2.255"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := DefaultSenderInterval(); got != c.Interval || got <= 0 {
		t.Errorf("DefaultSenderInterval is %v; heartbeatd's default interval is %v", got, c.Interval)
	}
}

// The example configuration, installed as /etc/default/ipfailover, names
// the example hooks by an absolute path once installed: make install,
// make package and make dist fill in @SHAREDIR@. A relative
// share/ipfailover/hooks names nothing from where an administrator reads
// it.
func TestExampleConfigurationNamesNoRelativePath(t *testing.T) {
	conf, err := os.ReadFile("../../init/ipfailover.conf")
	if err != nil {
		t.Fatal(err)
	}
	for n, line := range strings.Split(string(conf), "\n") {
		// share/… not after a / (as in /usr/share/…) is relative.
		for _, m := range regexp.MustCompile(`(?:^|[^/\w])(share/[^\s),;]*)`).FindAllStringSubmatch(line, -1) {
			t.Errorf("init/ipfailover.conf:%d names %s, a relative path: write @SHAREDIR@%s", n+1, m[1], strings.TrimPrefix(m[1], "share/ipfailover"))
		}
	}
	if !strings.Contains(string(conf), "@SHAREDIR@/hooks") {
		t.Error("init/ipfailover.conf does not name the example hooks (@SHAREDIR@/hooks)")
	}
}
