package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ipfailover/ipfailover/internal/cli"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// keygenCommand is failoverctl keygen PATH.
func keygenCommand(path string, stdout, stderr io.Writer) int {
	k, err := keygen(path)
	if err != nil {
		fmt.Fprintf(stderr, "failoverctl: %v\n", err)
		return cli.ExitFailure
	}
	fmt.Fprintf(stdout, "wrote %s (key id %08x); copy it to the other server with the same mode and set FAILOVER_AUTH_KEY_FILE on both\n", path, k.ID)
	return cli.ExitOK
}

// keygen writes 32 random bytes, base64-encoded, to a new file that only
// its owner can read, and checks that the daemons would accept it. Where
// the daemons would refuse a key (another user could read or replace it),
// it writes none: a secret once there may already be another's.
func keygen(path string) (wire.Key, error) {
	if err := config.CheckKeyFile(path); err != nil {
		return wire.Key{}, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return wire.Key{}, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return wire.Key{}, fmt.Errorf("%s exists; a new key would lock out the other server until it has the same key. Remove the file first to replace it", path)
	}
	if errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(path)
		return wire.Key{}, fmt.Errorf("cannot write %s: the folder %s does not exist; make it first (mkdir -m 0755 %s; the package makes /etc/ipfailover) and run keygen again", path, dir, dir)
	}
	if err != nil {
		return wire.Key{}, err
	}
	_, werr := fmt.Fprintln(f, base64.StdEncoding.EncodeToString(raw))
	if err := errors.Join(werr, f.Close()); err != nil {
		return wire.Key{}, err
	}
	return config.LoadKeyFile(path)
}
