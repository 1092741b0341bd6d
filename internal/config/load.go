package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ipfailover/ipfailover/internal/safefile"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// DefaultFile is the configuration file read when --config is not given:
// /etc/hostconfig on macOS, as the original; on Linux a file that also
// serves as a systemd EnvironmentFile=.
func DefaultFile() string {
	if runtime.GOOS == "darwin" {
		return "/etc/hostconfig"
	}
	return "/etc/default/ipfailover"
}

// Sources are the three inputs of Load, in rising precedence.
type Sources struct {
	File         string   // configuration file; empty: none
	FileExplicit bool     // File was named with --config, so it must exist
	Args         []string // the original's positional arguments
	Flags        Settings // from BindFlags
}

// Load reads the sources, applies defaults, parses and validates every
// key the role uses, and loads the authentication keys. The error, when
// not nil, joins one *Error per problem.
func Load(role Role, src Sources) (*Config, error) {
	merged := Settings{}
	var errs errorList
	var warnings []*Error
	// Unless the file named could not be read, a required key that no
	// source sets is an error; when it could not, that is the one error.
	checkRequired, fileMissing := true, false
	if src.File != "" {
		fileSettings, err := readSafeFile(src.File)
		fileMissing = errors.Is(err, fs.ErrNotExist) && !src.FileExplicit
		checkRequired = fileSettings != nil || fileMissing
		switch {
		case fileMissing:
			// No file: arguments and flags must say it all.
		case src.FileExplicit && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)):
			errs.add(&Error{Origin: Origin{Arg: "--config"}, Key: "--config", Value: src.File, Problem: err.Error(), Hint: "name a readable file"})
		case errors.Is(err, fs.ErrPermission):
			errs.add(fmt.Errorf("configuration file %s: %w; make it readable for this user, or name another with --config", src.File, err))
		default:
			errs.add(err)
		}
		for k, s := range fileSettings {
			if lookupKey(k) == nil {
				hint := "remove it, or see ipfailover(5) for the keys"
				if s := suggest(k); s != "" {
					hint = "did you mean " + s + "?"
				}
				// Ignored, as the original ignored keys it did not know,
				// but said: a typo here silently keeps a default.
				warnings = append(warnings, &Error{Origin: s.Origin, Key: k, Problem: "unknown key, ignored", Hint: hint})
				continue
			}
			merged[k] = s
		}
	}
	errs.add(positional(role, src.Args, merged))
	for k, s := range src.Flags {
		merged[k] = s
	}

	c := &Config{File: src.File, fileMissing: fileMissing, origins: map[string]Origin{}}
	slices.SortFunc(warnings, func(a, b *Error) int { return cmp.Compare(a.Origin.Line, b.Origin.Line) })
	c.Warnings = warnings
	for _, k := range keys {
		if !k.usedBy(role) {
			continue
		}
		s, ok := merged[k.Name]
		if !ok {
			if k.Required != "" {
				continue // missing: said below
			}
			s = Setting{Value: k.defaultFor(role, runtime.GOOS)}
		} else {
			c.origins[k.Name] = s.Origin
		}
		if err := k.set(c, s.Value); err != nil {
			errs.add(&Error{Origin: s.Origin, Key: k.Name, Value: s.Value, Problem: err.problem, Hint: err.hint})
		}
	}
	if checkRequired {
		errs = append(errs, c.missing(role, src.File, merged, errs)...)
	}
	if len(errs) == 0 {
		errs = append(errs, c.validate(role)...)
	}
	if c.NodeName == "" {
		c.NodeName = hostName()
	}
	sortByLine(errs)
	return c, errs.err()
}

// positional maps the original's arguments onto keys: heartbeatd's
// ip_addr ...; failoverd's master_priv_addr interface:pub_addr[/mask] ...
func positional(role Role, args []string, into Settings) error {
	if len(args) == 0 {
		return nil
	}
	if role == Heartbeatd {
		into[KeyBcastIPs] = Setting{Value: strings.Join(args, " "), Origin: Origin{Arg: "ip_addr arguments"}}
		return nil
	}
	into[KeyPeerIP] = Setting{Value: args[0], Origin: Origin{Arg: "master_priv_addr argument"}}
	if len(args) < 2 {
		return &Error{Origin: Origin{Arg: "arguments"}, Key: KeyPairs, Problem: "master_priv_addr given without any interface:pub_addr",
			Hint: "usage: failoverd master_priv_addr interface:pub_addr[/mask] ..."}
	}
	into[KeyPairs] = Setting{Value: strings.Join(args[1:], " "), Origin: Origin{Arg: "interface:pub_addr arguments"}}
	return nil
}

// missing reports each required key of role that no source gave a
// value, unless an error about the key is among reported already. file is
// the configuration file looked for, if any.
func (c *Config) missing(role Role, file string, merged Settings, reported []error) []error {
	var errs errorList
	for _, k := range keys {
		if !k.usedBy(role) || k.Required == "" || k.format(c) != "" || hasErrorAbout(reported, k.Name) {
			continue
		}
		s, set := merged[k.Name]
		origin, problem, hint := s.Origin, "empty", ""
		if !set {
			origin, problem = Origin{File: file}, "not set"
			if file == "" {
				origin = Origin{Arg: "arguments"}
			}
			for _, w := range c.Warnings {
				if suggest(w.Key) == k.Name {
					hint += fmt.Sprintf("%s sets %s: did you mean %s? ", w.Origin, clip(w.Key), k.Name)
				}
			}
			if hint != "" {
				hint += "Otherwise "
			}
		}
		// The table's example names a Linux interface; this system's is
		// the one to copy.
		example := strings.ReplaceAll(k.Example, "eth0", exampleInterface())
		hint += "give " + renderDoc(k.Required, plainText)
		switch {
		case file == "":
			hint += ", or set " + k.Name + "=" + example + " in a configuration file"
		case c.fileMissing:
			hint += ", or create " + file + " with " + k.Name + "=" + example
		default:
			hint += ", or set " + k.Name + "=" + example + " in " + file
		}
		errs.add(&Error{Origin: origin, Key: k.Name, Problem: problem, Hint: hint})
	}
	return errs
}

func hasErrorAbout(errs []error, key string) bool {
	for _, e := range errs {
		var ce *Error
		if errors.As(e, &ce) && ce.Key == key {
			return true
		}
	}
	return false
}

func (c *Config) validate(role Role) []error {
	var errs errorList
	switch role {
	case Heartbeatd:
		seen := map[string]bool{}
		for _, a := range c.BcastIPs {
			if seen[a.String()] {
				errs.add(&Error{Origin: c.origins[KeyBcastIPs], Key: KeyBcastIPs, Value: joinAddrs(c.BcastIPs),
					Problem: a.String() + " is listed twice", Hint: "list each link's address once"})
			}
			seen[a.String()] = true
		}
	case Failoverd:
		if c.Legacy && len(c.AuthKeyFiles) > 0 {
			errs.add(&Error{Origin: c.origins[KeyLegacy], Key: KeyLegacy, Value: formatBool(c.Legacy),
				Problem: "the original's bare-text heartbeat cannot be authenticated, and " + KeyAuthKeyFile + " is set",
				Hint:    "use one or the other: legacy for an old Mac OS X Server primary, a key for heartbeatd"})
		}
		if c.StandbyPort == c.Port {
			errs.add(&Error{Origin: c.origins[KeyStandbyPort], Key: KeyStandbyPort, Value: strconv.Itoa(int(c.StandbyPort)),
				Problem: "the same as " + KeyPort + ": the standbys' announcements would reach the heartbeat sockets",
				Hint:    "use another port, the same on every standby (the default is " + Default(Failoverd, KeyStandbyPort) + ")"})
		}
		seen := map[string]bool{}
		for _, p := range c.Pairs {
			if p.Addr == c.PeerIP {
				errs.add(&Error{Origin: c.origins[KeyPairs], Key: KeyPairs, Value: p.String(),
					Problem: "the primary's private address is listed as a public address", Hint: "list only public addresses; " + KeyPeerIP + " is never taken over"})
			}
			if seen[p.Addr.String()] {
				errs.add(&Error{Origin: c.origins[KeyPairs], Key: KeyPairs, Value: p.String(), Problem: p.Addr.String() + " is listed twice", Hint: "list each public address once"})
			}
			seen[p.Addr.String()] = true
		}
	}
	errs = append(errs, c.arbiterErrors()...)
	errs = append(errs, c.unsafePrograms(role)...)
	errs.add(c.unsafeSocketFolder(role))
	for _, path := range c.AuthKeyFiles {
		k, err := LoadKeyFile(path)
		if err != nil {
			hint := "check the path and that this user can read it; make a key with: failoverctl keygen FILE"
			_, refused := errors.AsType[*safefile.UnsafeError](err)
			_, short := errors.AsType[*wire.ShortKeyError](err)
			if refused || short || errors.Is(err, wire.ErrKeyPermissions) {
				hint = "" // the error gives the fix
			}
			errs.add(&Error{Origin: c.origins[KeyAuthKeyFile], Key: KeyAuthKeyFile, Problem: err.Error(), Hint: hint})
			continue
		}
		c.Keys = append(c.Keys, k)
	}
	return errs
}

// sortByLine puts file errors in line order, the order an administrator
// reads the file in; command-line errors follow.
func sortByLine(errs []error) {
	pos := func(e error) (string, int) {
		var ce *Error
		if errors.As(e, &ce) && ce.Origin.File != "" {
			return ce.Origin.File, ce.Origin.Line
		}
		return "\xff", 0
	}
	slices.SortStableFunc(errs, func(a, b error) int {
		fa, la := pos(a)
		fb, lb := pos(b)
		return cmp.Or(cmp.Compare(fa, fb), cmp.Compare(la, lb))
	})
}

func hostName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	if len(h) > wire.MaxSenderLen {
		h = h[:wire.MaxSenderLen]
	}
	return h
}

// flagKey binds one flag to the key it overrides; its help is the key's.
type flagKey struct {
	long, short, key string
	roles            roleMask
	boolean          bool // a switch: set means -YES-
}

var flagKeys = []flagKey{
	{"port", "p", KeyPort, roleBoth, false},
	{"message", "m", KeyMessage, roleHeartbeatOnly, false},
	{"syslog-facility", "L", KeyLogFacility, roleBoth, false},
	{"interval", "", KeyInterval, roleHeartbeatOnly, false},
	{"auth-key-file", "", KeyAuthKeyFile, roleBoth, false},
	{"log-file", "", KeyLogFile, roleBoth, false},
	{"hook-dir", "", KeyHookDir, roleFailoverOnly, false},
	{"timeout", "", KeyTimeout, roleFailoverOnly, false},
	{"dead-count", "", KeyDeadCount, roleFailoverOnly, false},
	{"control-socket", "", KeyControlSocket, roleFailoverOnly, false},
	{"lock-socket", "", KeyLockSocket, roleHeartbeatOnly, false},
	{"legacy", "", KeyLegacy, roleFailoverOnly, true},
	{"metrics-addr", "", KeyMetricsAddr, roleBoth, false},
}

// BindFlags defines the flags that override configuration keys on fs, for
// role. After fs.Parse, the returned function gives the settings of the
// flags that were set.
func BindFlags(fs *pflag.FlagSet, role Role) func() Settings {
	vals := map[string]func() string{}
	for _, f := range flagKeys {
		if f.roles&(1<<role) == 0 {
			continue
		}
		usage := flagUsage(lookupKey(f.key), role, runtime.GOOS, f.boolean)
		if f.boolean {
			b := fs.BoolP(f.long, f.short, false, usage)
			vals[f.long] = func() string { return formatBool(*b) }
			continue
		}
		s := fs.StringP(f.long, f.short, "", usage)
		vals[f.long] = func() string { return *s }
	}
	return func() Settings {
		out := Settings{}
		for _, f := range flagKeys {
			if v, ok := vals[f.long]; ok && fs.Changed(f.long) {
				out[f.key] = Setting{Value: v(), Origin: Origin{Arg: flagName(f)}}
			}
		}
		return out
	}
}

func flagName(f flagKey) string {
	if f.short != "" {
		return fmt.Sprintf("-%s/--%s", f.short, f.long)
	}
	return "--" + f.long
}
