//go:build unix && !linux

package hooks

import "syscall"

// groupAlive reports whether process group pgid still has a process.
// Zombies count too; launchd reaps them at once.
func groupAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) != syscall.ESRCH
}
