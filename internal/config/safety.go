package config

import (
	"errors"

	"github.com/ipfailover/ipfailover/internal/safefile"
)

// refuseUnsafe is the configuration error for the file at path, named by
// key, when p refuses it: failoverd runs the notify command and sendmail
// as root, and a key decides whose heartbeats count, so a file (or a
// folder above it) that a user other than root, or the one the daemon
// runs as, could change, or read for a key, would let them change what
// the daemons do. The same walk as the hooks' (see safefile), at start,
// for -n and on SIGHUP. A file that is not there or cannot be read is
// left to what reads it: -n says a program is missing, LoadKeyFile that a
// key is; an unsafe folder above a missing file is still refused, as
// another user could put one there.
func (c *Config) refuseUnsafe(key, value, path string, p safefile.Policy) error {
	if path == "" {
		return nil
	}
	err := p.Check(path)
	if _, ok := errors.AsType[*safefile.UnsafeError](err); !ok {
		return nil
	}
	return &Error{Origin: c.origins[key], Key: key, Value: value, Problem: err.Error()}
}

// unsafePrograms refuses the programs that carry role's notices.
func (c *Config) unsafePrograms(role Role) []error {
	var errs errorList
	for _, p := range []struct{ key, path string }{{KeySendmail, c.Sendmail}, {KeyNotifyCommand, c.NotifyCommand}} {
		if lookupKey(p.key).usedBy(role) {
			errs.add(c.refuseUnsafe(p.key, p.path, p.path, safefile.Program()))
		}
	}
	return errs
}
