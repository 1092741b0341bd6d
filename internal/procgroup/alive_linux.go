package procgroup

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// pgidAlive reports whether process group pgid has a process that is not
// a zombie. kill(-pgid, 0) alone also counts zombies, which linger until
// their new parent reaps them; in a container whose init reaps lazily that
// would stretch every kill to the full grace.
func pgidAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); err == syscall.ESRCH {
		return false
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return true // cannot tell: assume the worst
	}
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) state ppid pgrp ...": comm may hold spaces and
		// parentheses, so read from the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(stat[i+1:])
		if len(f) < 3 || string(f[2]) != strconv.Itoa(pgid) {
			continue
		}
		if s := string(f[0]); s != "Z" && s != "X" {
			return true
		}
	}
	return false
}
