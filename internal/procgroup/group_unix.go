//go:build unix

package procgroup

import (
	"os"
	"os/exec"
	"syscall"
)

// ownGroup makes the program the leader of a new process group, so that a
// signal to the group reaches whatever it forked, and nothing of ours.
func ownGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pgid = 0
}

func terminate(p *os.Process) error { return signalGroup(p.Pid, syscall.SIGTERM) }

func kill(p *os.Process) error { return signalGroup(p.Pid, syscall.SIGKILL) }

func groupAlive(p *os.Process) bool { return pgidAlive(p.Pid) }

// signalGroup signals process group pgid; the leader's pid is the group's
// id, and it stays reserved while any member lives.
func signalGroup(pgid int, sig syscall.Signal) error {
	err := syscall.Kill(-pgid, sig)
	if err == syscall.ESRCH {
		return os.ErrProcessDone // nothing left: not a failure to kill
	}
	return err
}
