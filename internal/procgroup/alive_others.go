//go:build unix && !linux

package procgroup

import "syscall"

// pgidAlive reports whether process group pgid still has a process.
// Zombies count too; launchd reaps them at once.
func pgidAlive(pgid int) bool {
	return syscall.Kill(-pgid, 0) != syscall.ESRCH
}
