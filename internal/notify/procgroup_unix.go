//go:build unix

package notify

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts the program in its own process group and kills the
// whole group on timeout, so a shell script's children die with it.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
