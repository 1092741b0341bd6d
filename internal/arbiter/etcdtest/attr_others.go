//go:build !linux

package etcdtest

import "syscall"

// dieWithParent: only Linux can tie a child's life to its parent's; the
// test's cleanup kills the members.
func dieWithParent() *syscall.SysProcAttr { return nil }
