// Command failoverctl is the administrator's tool for an ipfailover pair:
// it asks the running failoverd for its status and tells it to take over,
// give back, hold or resume, through failoverd's control socket.
package main

import (
	"fmt"
	"github.com/ipfailover/ipfailover/internal/failover"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/pflag"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/control"
)

const usage = `usage: failoverctl [--control-socket PATH] [--timeout D] status [--json]
       failoverctl [--control-socket PATH] [--timeout D] acquire [--force] | release | hold | resume
       failoverctl [--control-socket PATH] [--timeout D] events [--since WHEN] [--json]
       failoverctl keygen FILE
       failoverctl version | help

  status    state and since when, each link's last heartbeat and packet counts,
            the primary's epoch and interval, the addresses, who else answers
            for them, the last hook runs
  acquire   take the addresses over now (Test, PreAcq, add, PostAcq); refused
            while another host answers for one, unless --force
  release   give them back now (Test, PreRel, remove, PostRel, tell the primary)
  hold      freeze: no automatic takeover or give-back until resume
  resume    back to automatic
  events    what failoverd did lately, oldest first: state changes, takeovers
            and give-backs with each hook's result, notices, operator
            requests, dropped packets (a line a second); --since 2h, 03:00
            or "2006-01-02 15:04" shows only what came at or after it
  keygen    write a new random heartbeat key to FILE (mode 0600)
  version   print the version (also -v)
  help      print this help (also -h)

options, before or after the command:
  --control-socket PATH  failoverd's control socket, its FAILOVER_CONTROL_SOCKET
                         (default %s)
  --timeout D            how long to wait for failoverd to answer, hooks included
                         for acquire and release, as 30s or 2m (default %v)
  --json                 status as JSON
  --force                acquire even while another host answers for an address

acquire and release act once; the automatic rules apply again after them
unless failoverd is held.
`

// defaultTimeout leaves room for the hooks of an acquire or a release.
const defaultTimeout = 10 * time.Minute

// usageText is the usage with the defaults filled in.
func usageText() string { return fmt.Sprintf(usage, config.DefaultControlSocket(), defaultTimeout) }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("failoverctl", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SetInterspersed(true)
	usage := usageText()
	socket := fs.String("control-socket", config.DefaultControlSocket(), "failoverd's control socket")
	asJSON := fs.Bool("json", false, "status or events as JSON")
	since := fs.String("since", "", "events at or after this: a duration back from now (2h), a time today (03:00) or a date and time")
	force := fs.Bool("force", false, "acquire even while another host answers for an address")
	timeout := fs.Duration("timeout", defaultTimeout, "how long to wait for failoverd (acquire and release wait for the hooks)")
	help := fs.BoolP("help", "h", false, "print this help")
	version := fs.BoolP("version", "v", false, "print the version")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "failoverctl: %s\n%s", cli.FlagError(fs, err), usage)
		return cli.ExitUsage
	}
	if *help {
		fmt.Fprint(stdout, usage)
		return cli.ExitOK
	}
	if *version {
		fmt.Fprintf(stdout, "failoverctl %s\n", cli.Version)
		return cli.ExitOK
	}
	args = fs.Args()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cli.ExitUsage
	}
	switch args[0] {
	case "keygen":
		if len(args) != 2 {
			fmt.Fprint(stderr, usage)
			return cli.ExitUsage
		}
		return keygenCommand(args[1], stdout, stderr)
	case "version", "-v", "--version":
		fmt.Fprintf(stdout, "failoverctl %s\n", cli.Version)
		return cli.ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return cli.ExitOK
	}
	if *since != "" && args[0] != string(control.OpEvents) {
		fmt.Fprintf(stderr, "failoverctl: --since goes with events only\n%s", usage)
		return cli.ExitUsage
	}
	if args[0] == string(control.OpEvents) {
		if len(args) != 1 || *force {
			fmt.Fprint(stderr, usage)
			return cli.ExitUsage
		}
		return events(*socket, *since, *asJSON, *timeout, stdout, stderr)
	}
	if op := failover.Op(args[0]); slices.Contains(control.Ops, op) {
		if len(args) != 1 || (*force && op != failover.OpAcquire) {
			fmt.Fprint(stderr, usage)
			return cli.ExitUsage
		}
		return command(*socket, control.Request{Op: op, Force: *force}, *asJSON, *timeout, stdout, stderr)
	}
	fmt.Fprintf(stderr, "failoverctl: unknown command %q\n%s", args[0], usage)
	return cli.ExitUsage
}
