package logging

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStderrAndFile(t *testing.T) {
	var stderr bytes.Buffer
	path := filepath.Join(t.TempDir(), "ipfailover.log")
	log, closeLog, err := New(Options{File: path, Stderr: &stderr, Tag: "heartbeatd"})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("link down", "link", "pub0")
	log.Debug("not shown without -d")
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{"stderr": stderr.String(), "file": string(file)} {
		if !strings.Contains(got, `msg="link down" link=pub0`) {
			t.Errorf("%s lacks the record: %q", name, got)
		}
		if strings.Contains(got, "not shown") {
			t.Errorf("%s has a debug record without -d", name)
		}
	}
}

func TestDebugLevel(t *testing.T) {
	var stderr bytes.Buffer
	log, closeLog, err := New(Options{Debug: true, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer closeLog()
	log.Debug("route", "target", "192.0.2.255")
	if !strings.Contains(stderr.String(), "level=DEBUG") {
		t.Errorf("-d must log debug records: %q", stderr.String())
	}
}

func TestBadDestinations(t *testing.T) {
	if _, _, err := New(Options{Facility: "local9"}); err == nil || !strings.Contains(err.Error(), "local0 to local7") {
		t.Errorf("bad facility: %v", err)
	}
	if _, _, err := New(Options{File: "/nonexistent/dir/x.log"}); err == nil || !strings.Contains(err.Error(), "log file") {
		t.Errorf("bad file: %v", err)
	}
}

// SIGHUP reopens the log file: after logrotate moved it away, records go
// to a new file at the configured path; a changed path takes effect.
func TestReloadReopensTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ipfailover.log")
	var stderr bytes.Buffer
	log, r, err := NewReloadable(Options{File: path, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	link := log.With("link", "priv0")
	link.Info("before rotation")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(Options{File: path, Stderr: &stderr}); err != nil {
		t.Fatal(err)
	}
	link.Info("after rotation")
	rotated, _ := os.ReadFile(path + ".1")
	fresh, _ := os.ReadFile(path)
	if !strings.Contains(string(rotated), "before rotation") || strings.Contains(string(rotated), "after rotation") {
		t.Errorf("rotated file: %q", rotated)
	}
	if !strings.Contains(string(fresh), `msg="after rotation" link=priv0`) {
		t.Errorf("reopened file: %q", fresh)
	}
	if err := r.Reload(Options{File: "/nonexistent/x.log"}); err == nil {
		t.Error("a bad new destination must be refused")
	}
	link.Info("still logging")
	if fresh, _ = os.ReadFile(path); !strings.Contains(string(fresh), "still logging") {
		t.Errorf("after a refused reload the old destination must stay: %q", fresh)
	}
}
