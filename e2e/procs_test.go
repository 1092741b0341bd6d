package e2e

import (
	"bytes"
	"os"
	"strconv"
)

// procStat reads the state letter and the process group of pid from
// /proc; ok is false when there is no such process.
func procStat(pid int) (state byte, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// pid (comm) state ppid pgrp ...; comm may hold spaces, not ')'.
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
	if len(f) < 3 {
		return 0, 0, false
	}
	pgrp, _ = strconv.Atoi(string(f[2]))
	return f[0][0], pgrp, true
}

// alive reports whether pid runs: a zombie (dead, not yet reaped by
// whoever inherited it) does not count.
func alive(pid int) bool {
	state, _, ok := procStat(pid)
	return ok && state != 'Z' && state != 'X'
}

// liveInGroup lists the running processes of process group pgid: the
// group a test's own hook leads, so no other process on the host is
// looked at.
func liveInGroup(pgid int) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, g, ok := procStat(pid); ok && g == pgid && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}
