package main

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// daemonsModule is the daemons' module: the repository's root, whose
// docs/ the report goes to and whose cmd/ the daemons are built from.
// bench is a module of its own (so that the plotting libraries stay out of
// the daemons' go.mod) that replaces this one with ../, so go answers the
// same from either module.
const daemonsModule = "github.com/ipfailover/ipfailover"

// repoRoot returns the directory of the daemons' module.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", daemonsModule).Output()
	if err != nil {
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return "", fmt.Errorf("find the repository (run bench inside it): go list -m %s: %w", daemonsModule, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", fmt.Errorf("find the repository: go list -m %s gave no directory", daemonsModule)
	}
	return dir, nil
}

// buildDaemons builds heartbeatd, failoverd and failoverctl from this
// checkout into bin, within their own module so its go.sum applies.
func buildDaemons(bin string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", bin+"/", "./cmd/...")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the daemons in %s: %v\n%s", root, err, out)
	}
	return nil
}
