package hooks

import (
	"fmt"

	"github.com/ipfailover/ipfailover/internal/safefile"
)

// UnsafeError is why a hook file or folder was refused (see safefile).
type UnsafeError = safefile.UnsafeError

// safety is the hooks' policy: they run as root, so anything a non-root
// user can change is a way to become root. Only root is trusted, also
// for failoverd -n run by another user.
var safety = safefile.Policy{What: "the hooks", Risk: "a non-root user could change what failoverd runs as root"}

// checkChain checks a hook file or folder, every folder on the way to it
// and where its symbolic links lead (see safefile). Its errors are
// *UnsafeError, or why a part of the path cannot be read.
func checkChain(path string) error {
	if err := safety.Check(path); err != nil {
		return fmt.Errorf("hooks: %w", err)
	}
	return nil
}
