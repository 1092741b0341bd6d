package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Check says whether notices can go anywhere: sendmail and the notify
// command must exist and be programs.
func TestCheckNotices(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "prog")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(dir, "sendmail")
	cases := []struct {
		config string
		want   []string
	}{
		{"FAILOVER_SENDMAIL=" + gone + "\n", []string{
			"error   ", ":1: FAILOVER_SENDMAIL=" + gone + ": no such file, so no notice would be mailed; install a mail transfer agent",
			"set FAILOVER_SENDMAIL= to send no mail, or set FAILOVER_NOTIFY_COMMAND"}},
		{"FAILOVER_SENDMAIL=" + gone + "\nFAILOVER_NOTIFY_COMMAND=" + prog + "\n", []string{
			"warning ", "FAILOVER_SENDMAIL=" + gone + ": no such file", "ok      ", "FAILOVER_NOTIFY_COMMAND=" + prog}},
		{"FAILOVER_SENDMAIL=" + prog + "\nFAILOVER_NOTIFY_COMMAND=" + plain + "\n", []string{
			"ok      ", "FAILOVER_SENDMAIL=" + prog + ": notices are mailed to root",
			"error   ", ":2: FAILOVER_NOTIFY_COMMAND=" + plain + ": not executable (mode 0644)"}},
		{"FAILOVER_SENDMAIL=" + dir + "\n", []string{"error   ", "a folder, not a program"}},
		{"FAILOVER_SENDMAIL=\n", []string{"warning ", "mail is off and FAILOVER_NOTIFY_COMMAND is not set"}},
	}
	for _, tc := range cases {
		path := writeFile(t, tc.config)
		c, err := Load(Failoverd, Sources{File: path, Args: []string{"10.0.0.1", "eth0:100.0.0.10"}})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		WriteFindings(&b, Check(c, Failoverd, host))
		out := b.String()
		var lines []string
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "SENDMAIL") || strings.Contains(l, "NOTIFY_COMMAND") {
				lines = append(lines, l)
			}
		}
		got := strings.Join(lines, "\n")
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%q: findings lack %q:\n%s", tc.config, w, got)
			}
		}
	}
}
