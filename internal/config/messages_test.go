package config

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The interface name in examples, as this system names interfaces.
func osInterface() string {
	if runtime.GOOS == "darwin" {
		return "en0"
	}
	return "eth0"
}

// An empty configuration: each required key is said to be not set (not
// malformed), in the file that lacks it, with what to write there.
func TestMissingRequiredKeysAreNamed(t *testing.T) {
	path := writeFile(t, "HOSTNAME=-AUTOMATIC-\n")
	_, err := Load(Failoverd, Sources{File: path, FileExplicit: true})
	errs := Errors(err)
	want := []string{
		path + ": FAILOVER_PEER_IP: not set; give the master_priv_addr argument, or set FAILOVER_PEER_IP=\"10.0.0.1\" in " + path,
		path + ": FAILOVER_PEER_IP_PAIRS: not set; give interface:pub_addr arguments, or set FAILOVER_PEER_IP_PAIRS=\"" + osInterface() + ":198.51.100.10",
	}
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d: %v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d is\n %q\nwant it to start\n %q", i, errs[i], w)
		}
	}
	if strings.Contains(err.Error(), "not an IP address") || strings.Contains(err.Error(), "default:") {
		t.Errorf("an unset key is not a malformed one: %v", err)
	}

	_, err = Load(Heartbeatd, Sources{File: path, FileExplicit: true})
	if errs := Errors(err); len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), path+": FAILOVER_BCAST_IPS: not set; give ip_addr arguments, or set FAILOVER_BCAST_IPS=") {
		t.Errorf("heartbeatd: %q", errs)
	}

	// Missing keys are said along with other errors, not only alone.
	path = writeFile(t, "FAILOVER_PORT=x\n")
	_, err = Load(Failoverd, Sources{File: path, FileExplicit: true})
	if errs := Errors(err); len(errs) != 3 {
		t.Errorf("want the bad port and two missing keys: %q", errs)
	}

	// No file at all (the default one is optional): the hint says what
	// to create.
	missing := filepath.Join(t.TempDir(), "ipfailover")
	_, err = Load(Failoverd, Sources{File: missing, Args: nil})
	if err == nil || !strings.Contains(err.Error(), missing+": FAILOVER_PEER_IP: not set; give the master_priv_addr argument, or create "+missing+" with FAILOVER_PEER_IP=") {
		t.Errorf("no file: %v", err)
	}
}

// A --config file that cannot be read is the one error: the keys it
// would have set are not reported missing.
func TestUnreadableConfigIsTheOnlyError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nonexistent")
	_, err := Load(Failoverd, Sources{File: missing, FileExplicit: true})
	errs := Errors(err)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "--config") || !strings.Contains(errs[0].Error(), "no such file") {
		t.Errorf("errors: %q", errs)
	}
	dir := t.TempDir()
	_, err = Load(Failoverd, Sources{File: dir, FileExplicit: true})
	if errs := Errors(err); len(errs) != 1 || !strings.Contains(errs[0].Error(), "is a directory") {
		t.Errorf("a folder as the file: %q", errs)
	}
}

// A misspelt required key: its warning is lost with the errors, so the
// error about the key says what was probably meant.
func TestMisspeltRequiredKeySuggestsTheKey(t *testing.T) {
	path := writeFile(t, "FAILOVER_PEER_IPS=10.0.0.1\nFAILOVER_PEER_IP_PAIRS=\"eth0:198.51.100.10\"\n")
	_, err := Load(Failoverd, Sources{File: path, FileExplicit: true})
	want := path + ": FAILOVER_PEER_IP: not set; " + path + ":1 sets FAILOVER_PEER_IPS: did you mean FAILOVER_PEER_IP? Otherwise give the master_priv_addr argument"
	if errs := Errors(err); len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), want) {
		t.Errorf("errors %q\nwant one starting %q", errs, want)
	}
}

// A syntax error names an interface as this system names them.
func TestPairExampleFitsTheSystem(t *testing.T) {
	path := writeFile(t, "FAILOVER_PEER_IP=10.0.0.1\nFAILOVER_PEER_IP_PAIRS=\"198.51.100.10\"\n")
	_, err := Load(Failoverd, Sources{File: path, FileExplicit: true})
	if err == nil || !strings.Contains(err.Error(), "such as "+osInterface()+":198.51.100.10 or "+osInterface()+":[2001:db8::10]/64") {
		t.Errorf("%v", err)
	}
}

// A line over the limit names the file, the line and the key, and the
// lines after it are still read; a long line that is not ours is left
// alone as the others are.
func TestOverlongLine(t *testing.T) {
	long := strings.Repeat("a", 1<<20+10)
	path := writeFile(t, "FAILOVER_BCAST_IPS=\"192.0.2.255\"\nFAILOVER_MESSAGE="+long+"\nOTHER="+long+"\nFAILOVER_PORT=x\n")
	_, err := Load(Heartbeatd, Sources{File: path, FileExplicit: true})
	errs := Errors(err)
	if len(errs) != 2 {
		t.Fatalf("want 2 errors: %q", errs)
	}
	if want := path + ":2: FAILOVER_MESSAGE: line is 1048603 bytes long; a line may have at most 1048576"; !strings.HasPrefix(errs[0].Error(), want) {
		t.Errorf("error %q\nwant it to start %q", errs[0], want)
	}
	if !strings.HasPrefix(errs[1].Error(), path+":4: FAILOVER_PORT=x") {
		t.Errorf("the line after the long ones: %q", errs[1])
	}
	// A last line with no line end, and CRLF line ends, still parse.
	s, err := Parse(strings.NewReader("FAILOVER_PORT=1700\r\nFAILOVER_INTERVAL=2s"), "t")
	if err != nil || s[KeyPort].Value != "1700" || s[KeyInterval].Value != "2s" || s[KeyInterval].Origin.Line != 2 {
		t.Errorf("%v %v", s, err)
	}
}

// A huge value is cut in messages, with an ellipsis and its length.
func TestLongValuesAreCutInMessages(t *testing.T) {
	blob := strings.Repeat("x", 500_000)
	for _, line := range []string{
		"FAILOVER_BCAST_IPS=\"" + blob + "\"",
		"FAILOVER_MESSAGE=" + blob,
		"FAILOVER_PORT=" + blob,
		"FAILOVER_PORT=1 " + blob,
		"FAILOVER_" + blob,
	} {
		path := writeFile(t, "FAILOVER_BCAST_IPS=\"192.0.2.255\"\n"+line+"\n")
		_, err := Load(Heartbeatd, Sources{File: path, FileExplicit: true})
		if err == nil {
			t.Errorf("%.30s…: accepted", line)
			continue
		}
		for _, e := range Errors(err) {
			msg := e.Error()
			if len(msg) > 600 || !strings.Contains(msg, "…") {
				t.Errorf("%.30s…: a %d-byte message: %.300s", line, len(msg), msg)
			}
		}
	}
	// An unknown key of any length is a warning, quickly.
	path := writeFile(t, "FAILOVER_"+blob+"=1\n")
	c, err := Load(Heartbeatd, Sources{File: path, Args: []string{"192.0.2.255"}})
	if err != nil || len(c.Warnings) != 1 || len(c.Warnings[0].Error()) > 600 {
		t.Errorf("%v %d warnings", err, len(c.Warnings))
	}
}

// A control socket path longer than a unix socket address holds is a
// configuration error, not a failure at start.
func TestControlSocketPathLength(t *testing.T) {
	limit := 107
	if runtime.GOOS == "darwin" {
		limit = 103
	}
	for n, ok := range map[int]bool{limit: true, limit + 1: false, 235: false} {
		p := "/run/" + strings.Repeat("s", n-len("/run/"))
		path := writeFile(t, "FAILOVER_CONTROL_SOCKET="+p+"\n")
		_, err := Load(Failoverd, Sources{File: path, FileExplicit: true, Args: []string{"10.0.0.1", "eth0:198.51.100.10"}})
		if ok && err != nil {
			t.Errorf("%d bytes: %v", n, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), path+":1: FAILOVER_CONTROL_SOCKET=") || !strings.Contains(err.Error(), "a unix socket path may have at most")) {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
}
