package etcdtest

import "syscall"

// dieWithParent kills a member when the test process dies, whatever
// killed it.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
