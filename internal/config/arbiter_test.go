package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The arbiter's keys: what is right loads, each mistake is an error that
// names the file, the line and the key.
func TestArbiterKeys(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "client-key.pem")
	if err := os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open-key.pem")
	if err := os.WriteFile(open, []byte("-----BEGIN PRIVATE KEY-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The CA and the certificate decide whom the client trusts and is:
	// another user who could replace them could put a cluster of theirs
	// in etcd's place.
	openCA := filepath.Join(dir, "open-ca.pem")
	if err := os.WriteFile(openCA, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(openCA, 0o666); err != nil {
		t.Fatal(err)
	}
	args := []string{"192.0.2.1", "eth0:198.51.100.1"}
	good := "FAILOVER_ARBITER=\"https://203.0.113.11:2379, https://203.0.113.12:2379 http://203.0.113.13:2379\"\nFAILOVER_ARBITER_TTL=5s\nFAILOVER_ARBITER_LOST=release\n"
	c, err := Load(Failoverd, Sources{File: writeFile(t, good), Args: args})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Arbiter) != 3 || c.Arbiter[1] != "https://203.0.113.12:2379" || c.ArbiterTTL != 5*time.Second || c.ArbiterLost != "release" || c.ArbiterPrefix != "/ipfailover" {
		t.Fatalf("arbiter %q ttl %v lost %q prefix %q", c.Arbiter, c.ArbiterTTL, c.ArbiterLost, c.ArbiterPrefix)
	}
	c, err = Load(Heartbeatd, Sources{File: writeFile(t, "FAILOVER_BCAST_IPS=192.0.2.255\n")})
	if err != nil || len(c.Arbiter) != 0 || c.ArbiterTTL != 3*time.Second || c.ArbiterLost != "keep" {
		t.Fatalf("defaults: %v, arbiter %q ttl %v lost %q", err, c.Arbiter, c.ArbiterTTL, c.ArbiterLost)
	}
	for _, bad := range []struct{ line, want string }{
		{"FAILOVER_ARBITER=203.0.113.11:2379", "FAILOVER_ARBITER=203.0.113.11:2379: 203.0.113.11:2379 is not an etcd client URL"},
		{"FAILOVER_ARBITER=https://203.0.113.11", "is not an etcd client URL"},
		{"FAILOVER_ARBITER_LOST=maybe", "FAILOVER_ARBITER_LOST=maybe: neither keep nor release"},
		{"FAILOVER_ARBITER_TTL=1s", "FAILOVER_ARBITER_TTL=1s"},
		{"FAILOVER_ARBITER=https://203.0.113.11:2379\nFAILOVER_ARBITER_TTL=2500ms", ":2: FAILOVER_ARBITER_TTL=2.5s: not a whole number of seconds"},
		{"FAILOVER_ARBITER=https://203.0.113.11:2379\nFAILOVER_ARBITER_KEY=" + key, ":2: FAILOVER_ARBITER_KEY=" + key + ": set without FAILOVER_ARBITER_CERT"},
		{"FAILOVER_ARBITER=https://203.0.113.11:2379\nFAILOVER_ARBITER_CERT=/etc/c.pem\nFAILOVER_ARBITER_KEY=" + open, ":3: FAILOVER_ARBITER_KEY=" + open + ": "},
		{"FAILOVER_ARBITER_PREFIX=ipfailover", "FAILOVER_ARBITER_PREFIX=ipfailover: not an absolute path"},
		{"FAILOVER_ARBITER=https://203.0.113.11:2379\nFAILOVER_ARBITER_CA=" + openCA, ":2: FAILOVER_ARBITER_CA=" + openCA + ": "},
		{"FAILOVER_ARBITER=https://203.0.113.11:2379\nFAILOVER_ARBITER_CERT=" + openCA + "\nFAILOVER_ARBITER_KEY=" + key, ":2: FAILOVER_ARBITER_CERT=" + openCA + ": "},
		// etcd's client drops TLS for an http:// member: the files set
		// would protect nothing there.
		{"FAILOVER_ARBITER=\"https://203.0.113.11:2379 http://203.0.113.12:2379\"\nFAILOVER_ARBITER_CA=/etc/ca.pem", ":1: FAILOVER_ARBITER=http://203.0.113.12:2379: plain http:// while the arbiter's TLS files are set"},
	} {
		path := writeFile(t, bad.line+"\n")
		_, err := Load(Failoverd, Sources{File: path, Args: args})
		if err == nil || !strings.Contains(err.Error(), bad.want) || !strings.Contains(err.Error(), path+":") {
			t.Errorf("%q: error %v, want one naming %s and saying %q", bad.line, err, path, bad.want)
		}
	}
}
