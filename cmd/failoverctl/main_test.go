package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfailover/ipfailover/internal/wire"
)

func TestKeygen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	var out, errb bytes.Buffer
	if code := run([]string{"keygen", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", st.Mode(), err)
	}
	k, err := wire.LoadKeyFile(path)
	if err != nil || len(k.Secret) < 32 {
		t.Fatalf("daemons would not accept the key: %v", err)
	}
	if !strings.Contains(out.String(), "key id") {
		t.Errorf("output %q", out.String())
	}
	// A second keygen must not replace the key silently.
	errb.Reset()
	if code := run([]string{"keygen", path}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "exists") {
		t.Fatalf("overwrote an existing key: %d %s", code, errb.String())
	}
	k2, _ := wire.LoadKeyFile(path)
	if k2.ID != k.ID {
		t.Fatal("key changed")
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 64 || !strings.Contains(errb.String(), "usage") {
		t.Errorf("exit %d %q", code, errb.String())
	}
	if code := run([]string{"frobnicate"}, &out, &errb); code != 64 {
		t.Errorf("exit %d", code)
	}
	for _, a := range []string{"-h", "--help", "help"} {
		out.Reset()
		if code := run([]string{a}, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage: failoverctl") {
			t.Errorf("%s: exit %d %q", a, code, out.String())
		}
	}
	for _, a := range []string{"-v", "--version", "version"} {
		out.Reset()
		if code := run([]string{a}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "failoverctl ") {
			t.Errorf("%s: exit %d %q", a, code, out.String())
		}
	}
}
