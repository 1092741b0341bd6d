//go:build !unix

package notify

import "os/exec"

// ownProcessGroup leaves exec's default: kill the program alone on timeout.
func ownProcessGroup(*exec.Cmd) {}
