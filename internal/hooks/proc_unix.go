//go:build unix

package hooks

import (
	"io/fs"
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup puts the hook in a process group of its own, so that a
// signal to the group reaches whatever it forked, and nothing of failoverd.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminateGroup asks the hook's whole process group to stop.
func terminateGroup(pgid int) error { return signalGroup(pgid, syscall.SIGTERM) }

// killGroup stops what is left of the group once the grace is over.
func killGroup(pgid int) error { return signalGroup(pgid, syscall.SIGKILL) }

func signalGroup(pgid int, sig syscall.Signal) error {
	err := syscall.Kill(-pgid, sig)
	if err == syscall.ESRCH {
		return os.ErrProcessDone // nothing left: not a failure to kill
	}
	return err
}

// fileOwner returns the uid that owns a file.
func fileOwner(fi fs.FileInfo) (uid uint32, known bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}
