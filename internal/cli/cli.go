// Package cli is what heartbeatd and failoverd share on the command line:
// the original's flags, configuration loading with its exit codes, check
// mode (-n), logging and systemd notification.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/pflag"

	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/logging"
	"github.com/ipfailover/ipfailover/internal/netif"
	"github.com/ipfailover/ipfailover/internal/safefile"
)

// Version is set at build time (-ldflags "-X ...cli.Version=...").
var Version = "dev"

// Exit codes, as in sysexits.h.
const (
	ExitOK      = 0
	ExitFailure = 1  // the daemon could not run
	ExitUsage   = 64 // EX_USAGE: bad flags
	ExitConfig  = config.ExitConfig
)

// Invocation is a parsed command line.
type Invocation struct {
	Role    config.Role
	Debug   bool // -d
	Check   bool // -n
	NoFork  bool // -x (the daemons never fork; accepted for compatibility)
	Sources config.Sources
	// Checks are the daemon's own checks for -n, beside the
	// configuration's and the hooks'.
	Checks []func(*config.Config) []config.Finding

	Stdout, Stderr io.Writer
}

// Parse parses args (without the program name). When the command is done
// already (-h, -v, or a usage error), it returns nil and the exit code.
func Parse(role config.Role, args []string, stdout, stderr io.Writer) (*Invocation, int) {
	name := role.String()
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	inv := &Invocation{Role: role, Stdout: stdout, Stderr: stderr}
	fs.BoolVarP(&inv.Debug, "debug", "d", false, "stay in the foreground and log debug messages")
	fs.BoolVarP(&inv.Check, "check", "n", false, "print the configuration, check it against the interfaces, and exit (0 good, 78 bad)")
	fs.BoolVarP(&inv.NoFork, "no-fork", "x", false, "stay in the foreground (always the case; for compatibility)")
	help := fs.BoolP("help", "h", false, "print this help and exit")
	version := fs.BoolP("version", "v", false, "print the version and exit")
	file := fs.String("config", config.DefaultFile(), "configuration file (KEY=value lines)")
	flags := config.BindFlags(fs, role)

	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "%s: %s\n%s", name, FlagError(fs, err), usage(role))
		return nil, ExitUsage
	}
	if *help {
		fmt.Fprintf(stdout, "%s\nOptions:\n%s", usage(role), fs.FlagUsages())
		return nil, ExitOK
	}
	if *version {
		fmt.Fprintf(stdout, "%s %s\n", name, Version)
		return nil, ExitOK
	}
	inv.Sources = config.Sources{File: *file, FileExplicit: fs.Changed("config"), Args: fs.Args(), Flags: flags()}
	return inv, ExitOK
}

// FlagError is err, from parsing fs, for a person: an unknown long flag
// with the flag it most likely meant.
func FlagError(fs *pflag.FlagSet, err error) string {
	var unknown *pflag.NotExistError
	if !errors.As(err, &unknown) || unknown.GetSpecifiedShortnames() != "" || unknown.GetSpecifiedName() == "" {
		return err.Error()
	}
	var names []string
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	if s := config.Nearest(unknown.GetSpecifiedName(), names); s != "" {
		return fmt.Sprintf("%v; did you mean --%s?", err, s)
	}
	return err.Error()
}

func usage(role config.Role) string {
	if role == config.Heartbeatd {
		return "usage: heartbeatd [-d | -n | -x] [-p port] [-m message] [-L facility] [options] ip_addr ...\n       heartbeatd [-h | -v]\n"
	}
	return "usage: failoverd [-d | -n | -x] [-p port] [-L facility] [options] master_priv_addr interface:pub_addr[/mask] ...\n       failoverd [-h | -v]\n"
}

// Load loads the configuration. On error it prints every problem and
// returns the exit code 78.
func (inv *Invocation) Load() (*config.Config, int) {
	c, err := config.Load(inv.Role, inv.Sources)
	if err != nil {
		for _, e := range config.Errors(err) {
			fmt.Fprintf(inv.Stderr, "%s: %s\n", inv.Role, safefile.Visible(e.Error()))
		}
		fmt.Fprintf(inv.Stderr, "%s: configuration error; %s -h lists the flags, ipfailover(5) the keys\n", inv.Role, inv.Role)
		return nil, ExitConfig
	}
	return c, ExitOK
}

// RunCheck is -n: print the effective configuration, then check it
// against the live interfaces.
func (inv *Invocation) RunCheck(c *config.Config) int {
	src := c.File
	if src == "" {
		src = "(none)"
	}
	fmt.Fprintf(inv.Stdout, "# %s %s: effective configuration (file %s)\n%s\n# checks against this host's interfaces\n",
		inv.Role, Version, src, c.Format(inv.Role))
	ifs, err := netif.Snapshot()
	if err != nil {
		fmt.Fprintf(inv.Stderr, "%s: %v\n", inv.Role, err)
		return ExitFailure
	}
	var findings []config.Finding
	for _, w := range c.Warnings {
		findings = append(findings, config.Finding{Level: config.Warning, Err: w})
	}
	findings = append(findings, config.Check(c, inv.Role, ifs)...)
	findings = append(findings, hooks.CheckConfig(c, inv.Role)...)
	for _, check := range inv.Checks {
		findings = append(findings, check(c)...)
	}
	if config.WriteFindings(inv.Stdout, findings) {
		fmt.Fprintf(inv.Stdout, "# configuration has errors\n")
		return ExitConfig
	}
	fmt.Fprintf(inv.Stdout, "# configuration is usable\n")
	return ExitOK
}

// StartFailure is the exit status for err, which stopped a daemon's
// start: 78 for a file or folder of the configuration that a user other
// than root could change (a socket's folder, checked again as the socket
// is made), as when the configuration is loaded; 1 otherwise.
func StartFailure(err error) int {
	if _, ok := errors.AsType[*safefile.UnsafeError](err); ok {
		return ExitConfig
	}
	return ExitFailure
}

// LogOptions are the logging options the configuration asks for.
func (inv *Invocation) LogOptions(c *config.Config) logging.Options {
	return logging.Options{
		Debug: inv.Debug, Facility: c.SyslogFacility, File: c.LogFile,
		Tag: inv.Role.String(), Stderr: inv.Stderr,
	}
}

// LogWarnings logs the configuration's warnings.
func LogWarnings(log *slog.Logger, c *config.Config) {
	for _, w := range c.Warnings {
		log.Warn("configuration", "problem", w.Error())
	}
}

// Main wraps a daemon's run function into an exit status: it parses the
// command line, loads the configuration, answers -n, and sets up logging
// (LogWarnings done) before run.
// IPFAILOVER_CPUPROFILE=FILE writes a CPU profile of the whole run, for
// finding where the time goes (go tool pprof).
func Main(role config.Role, run func(inv *Invocation, c *config.Config, log *slog.Logger, logs *logging.Reloadable) int, checks ...func(*config.Config) []config.Finding) int {
	oneProcessor()
	if path := os.Getenv("IPFAILOVER_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	inv, code := Parse(role, os.Args[1:], os.Stdout, os.Stderr)
	if inv == nil {
		return code
	}
	c, code := inv.Load()
	if c == nil {
		return code
	}
	if inv.Check {
		inv.Checks = checks
		return inv.RunCheck(c)
	}
	log, logs, err := logging.NewReloadable(inv.LogOptions(c))
	if err != nil {
		fmt.Fprintf(inv.Stderr, "%s: cannot set up logging: %v\n", role, err)
		return ExitConfig
	}
	defer logs.Close()
	LogWarnings(log, c)
	return run(inv, c, log, logs)
}

// oneProcessor runs the daemon's Go code on one processor unless the
// GOMAXPROCS environment variable says otherwise. The daemons do little
// work per event (a packet, a tick), and with more than one processor the
// Go runtime wakes a second thread to look for work at nearly every
// event: at a 10 ms interval that nearly doubled the context switches
// and cost each daemon 30 to 45 % more CPU time. Hooks run as processes of
// their own and are not limited by this.
func oneProcessor() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
