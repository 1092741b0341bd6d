//go:build !unix

package procgroup

import (
	"os"
	"os/exec"
)

// Without process groups only the program itself can be stopped, and with
// nothing gentler than a kill; failoverd supports Linux and macOS.

func ownGroup(*exec.Cmd)            {}
func terminate(p *os.Process) error { return p.Kill() }
func kill(p *os.Process) error      { return p.Kill() }
func groupAlive(p *os.Process) bool { return false }
