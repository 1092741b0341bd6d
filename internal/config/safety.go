package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipfailover/ipfailover/internal/safefile"
	"github.com/ipfailover/ipfailover/internal/wire"
)

// The files whose keys, programs or secrets decide what the daemons do
// are walked as the hooks are (see safefile) wherever the daemons load
// them: at start, for -n and on SIGHUP.

// refusal is why p refuses path, a *safefile.UnsafeError, or nil. A file
// that is not there or cannot be read is left to what reads it, but an
// unsafe folder above a missing file is still refused: another user could
// put one there.
func refusal(p safefile.Policy, path string) error {
	err := p.Check(path)
	if _, ok := errors.AsType[*safefile.UnsafeError](err); ok {
		return err
	}
	return nil
}

// readSafeFile reads the configuration file unless a user other than
// root, or the one the daemon runs as, could change it or a folder above
// it (safefile.Configuration): its keys would then be theirs to set, the
// programs the daemons run and the keys they trust among them. A refused
// file is not read, so the keys it would set are not also said missing.
func readSafeFile(path string) (Settings, error) {
	if err := refusal(safefile.Configuration(), path); err != nil {
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	return ReadFile(path)
}

// CheckKeyFile walks the path to a key file as the daemons do before they
// read one (safefile.Secret): a *safefile.UnsafeError when a user other
// than root, or the one this process runs as, could read or replace the
// key; nil otherwise, a missing file included, so that failoverctl keygen
// can check where it is to write.
func CheckKeyFile(path string) error { return refusal(safefile.Secret(), path) }

// LoadKeyFile reads a key file as the daemons do: refused unread when
// CheckKeyFile refuses it, then read by wire.LoadKeyFile.
func LoadKeyFile(path string) (wire.Key, error) {
	if err := CheckKeyFile(path); err != nil {
		return wire.Key{}, err
	}
	return wire.LoadKeyFile(path)
}

// refuseUnsafe is the configuration error for the program at path, named
// by key, when p refuses it: failoverd and heartbeatd run the notify
// command and sendmail with their rights, so a program (or a folder above
// it) that a user other than root, or the one the daemon runs as, could
// change would let them change what the daemons do. A missing program is
// -n's to report.
func (c *Config) refuseUnsafe(key, path string, p safefile.Policy) error {
	return c.refuseUnsafeAt(key, path, path, p)
}

// refuseUnsafeAt is the configuration error for value, named by key,
// when p refuses the file or folder at, which value leads to.
func (c *Config) refuseUnsafeAt(key, value, at string, p safefile.Policy) error {
	if value == "" {
		return nil
	}
	if err := refusal(p, at); err != nil {
		return &Error{Origin: c.origins[key], Key: key, Value: value, Problem: err.Error()}
	}
	return nil
}

// unsafeSocketFolder refuses the folder of role's socket (failoverd's
// control socket, heartbeatd's lock socket) when a user other than root,
// or the one the daemon runs as, could write to it or to a folder above
// it (safefile.SocketFolder): they could listen there first, or remove
// the socket so that a second daemon starts beside the first. The daemon
// checks it again when it makes the socket (instance.Listen).
func (c *Config) unsafeSocketFolder(role Role) error {
	for _, s := range []struct{ key, path string }{{KeyControlSocket, c.ControlSocket}, {KeyLockSocket, c.LockSocket}} {
		if lookupKey(s.key).usedBy(role) && s.path != "" {
			return c.refuseUnsafeAt(s.key, s.path, filepath.Dir(s.path), safefile.SocketFolder())
		}
	}
	return nil
}

// unsafePrograms refuses the programs that carry role's notices.
func (c *Config) unsafePrograms(role Role) []error {
	var errs errorList
	for _, p := range []struct{ key, path string }{{KeySendmail, c.Sendmail}, {KeyNotifyCommand, c.NotifyCommand}} {
		if lookupKey(p.key).usedBy(role) {
			errs.add(c.refuseUnsafe(p.key, p.path, safefile.Program()))
		}
	}
	return errs
}

// arbiterErrors checks the arbiter's settings together: a whole-second
// lease (etcd's unit), a certificate with its key, and the key a secret
// no other user can read or replace, the certificates files no other
// user can replace.
func (c *Config) arbiterErrors() []error {
	var errs errorList
	if len(c.Arbiter) == 0 {
		return nil
	}
	if c.ArbiterTTL%time.Second != 0 {
		errs.add(&Error{Origin: c.origins[KeyArbiterTTL], Key: KeyArbiterTTL, Value: c.ArbiterTTL.String(),
			Problem: "not a whole number of seconds, etcd's unit for leases", Hint: "write whole seconds, such as 3s"})
	}
	if (c.ArbiterCert == "") != (c.ArbiterKey == "") {
		key, set := KeyArbiterKey, KeyArbiterCert
		if c.ArbiterCert == "" {
			key, set = KeyArbiterCert, KeyArbiterKey
		}
		errs.add(&Error{Origin: c.origins[set], Key: set, Value: c.fileOf(set), Problem: "set without " + key,
			Hint: "set both, the client certificate and its private key, or neither"})
	}
	if c.ArbiterCA != "" || c.ArbiterCert != "" || c.ArbiterKey != "" {
		for _, ep := range c.Arbiter {
			if strings.HasPrefix(ep, "http://") {
				// etcd's client drops the TLS settings for an http://
				// member: it would talk to it in the clear, unverified.
				errs.add(&Error{Origin: c.origins[KeyArbiter], Key: KeyArbiter, Value: ep,
					Problem: "plain http:// while the arbiter's TLS files are set: the etcd client uses none of them for it, and talks to it in the clear, trusting whoever answers",
					Hint:    "write https:// for every member"})
			}
		}
	}
	errs.add(c.refuseUnsafe(KeyArbiterKey, c.ArbiterKey, safefile.Secret()))
	errs.add(c.refuseUnsafe(KeyArbiterCA, c.ArbiterCA, safefile.Configuration()))
	errs.add(c.refuseUnsafe(KeyArbiterCert, c.ArbiterCert, safefile.Configuration()))
	return errs
}

// fileOf is the value of one of the arbiter's file keys.
func (c *Config) fileOf(key string) string {
	switch key {
	case KeyArbiterCA:
		return c.ArbiterCA
	case KeyArbiterCert:
		return c.ArbiterCert
	}
	return c.ArbiterKey
}
