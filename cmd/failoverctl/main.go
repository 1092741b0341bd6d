// Command failoverctl is the administrator's tool for an ipfailover pair.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/wire"
)

const usage = `usage: failoverctl keygen FILE   write a new random heartbeat key to FILE (mode 0600)
       failoverctl version
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
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
		k, err := keygen(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "failoverctl: %v\n", err)
			return cli.ExitFailure
		}
		fmt.Fprintf(stdout, "wrote %s (key id %08x); copy it to the other server with the same mode and set FAILOVER_AUTH_KEY_FILE on both\n", args[1], k.ID)
		return cli.ExitOK
	case "version", "-v", "--version":
		fmt.Fprintf(stdout, "failoverctl %s\n", cli.Version)
		return cli.ExitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return cli.ExitOK
	}
	fmt.Fprintf(stderr, "failoverctl: unknown command %q\n%s", args[0], usage)
	return cli.ExitUsage
}

// keygen writes 32 random bytes, base64-encoded, to a new file that only
// its owner can read, and checks that the daemons would accept it.
func keygen(path string) (wire.Key, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return wire.Key{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return wire.Key{}, fmt.Errorf("%s exists; a new key would lock out the other server until it has the same key. Remove the file first to replace it", path)
	}
	if err != nil {
		return wire.Key{}, err
	}
	_, werr := fmt.Fprintln(f, base64.StdEncoding.EncodeToString(raw))
	if err := errors.Join(werr, f.Close()); err != nil {
		return wire.Key{}, err
	}
	return wire.LoadKeyFile(path)
}
