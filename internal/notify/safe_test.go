package notify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The notify command and sendmail run as root: one that a user other
// than root could change by the time a notice is sent is refused then,
// not run, whatever was checked at start.
func TestUnsafeProgramIsNotRun(t *testing.T) {
	for _, n := range []struct {
		name   string
		notify func(path string) error
	}{
		{"command", func(path string) error { return Command{Path: path}.Notify(context.Background(), sampleNotice()) }},
		{"mail", func(path string) error { return Mail{Sendmail: path}.Notify(context.Background(), sampleNotice()) }},
	} {
		t.Run(n.name, func(t *testing.T) {
			path, dir := standIn(t, "")
			chmod(t, dir, 0o755)
			if err := n.notify(path); err != nil {
				t.Fatalf("a safe program: %v", err)
			}
			ran := filepath.Join(dir, "stdin")
			refused := func(want ...string) {
				t.Helper()
				if err := os.Remove(ran); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
				err := n.notify(path)
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range append(want, "not run", "fix: ") {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q: %v", w, err)
					}
				}
				if _, err := os.Stat(ran); err == nil {
					t.Error("the program ran")
				}
			}
			chmod(t, path, 0o757)
			refused("refusing "+path+": writable by others", "chmod go-w "+path)
			chmod(t, path, 0o755)
			chmod(t, dir, 0o775)
			refused("refusing "+dir+" (on the path to "+path+"): writable by group", "chmod go-w "+dir)
			chmod(t, dir, 0o755)
			if os.Geteuid() != 0 {
				t.Skip("skipped the rest: only root can give a file to another user")
			}
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Fatal(err)
			}
			refused("refusing "+path+": owned by uid 65534, not root", "chown root "+path)
		})
	}
}

// A notify command made unsafe after failoverd started: the notice is
// not delivered, and the log says why.
func TestUnsafeCommandIsLogged(t *testing.T) {
	path, dir := standIn(t, "")
	chmod(t, dir, 0o755)
	log, buf := testLogger()
	a := NewAsync(log, Command{Path: path})
	chmod(t, path, 0o775)
	a.Notify(sampleNotice())
	a.Close(10 * time.Second)
	if got := buf.String(); !strings.Contains(got, "notice failed") || !strings.Contains(got, "refusing "+path+": writable by group") {
		t.Errorf("log lacks the refusal:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "stdin")); err == nil {
		t.Error("the command ran")
	}
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
