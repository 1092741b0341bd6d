//go:build !unix

package hooks

import (
	"io/fs"
	"os/exec"
)

// Without process groups only the hook itself can be killed (exec does
// that at WaitDelay); failoverd supports Linux and macOS.

func setProcessGroup(*exec.Cmd)            {}
func terminateGroup(int) error             { return nil }
func killGroup(int) error                  { return nil }
func groupAlive(int) bool                  { return false }
func fileOwner(fs.FileInfo) (uint32, bool) { return 0, false }
