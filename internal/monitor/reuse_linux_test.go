package monitor

import (
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// stealer is what a local user without privileges runs on the secondary:
// a UDP socket on the heartbeat port of the secondary's own private
// address, asking to share it with failoverd's (SO_REUSEADDR, then
// SO_REUSEPORT: neither needs privilege), that counts what it receives.
const stealer = `
import os, socket
for opt in (socket.SO_REUSEADDR, socket.SO_REUSEPORT):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, opt, 1)
    try:
        s.bind(("192.0.2.2", 1694))
        break
    except OSError as e:
        print("refused", opt, e.errno, flush=True)
        s = None
if s is None:
    print("done uid", os.getuid(), flush=True)
    raise SystemExit
print("ready uid", os.getuid(), flush=True)
while True:
    s.recv(2048)
    print("stolen", flush=True)
`

// A local non-root user on the secondary: heartbeats sent to the
// secondary's unicast address (FAILOVER_BCAST_IPS may name it) must reach
// failoverd, not a socket another user bound to the same port. With
// SO_REUSEADDR on failoverd's sockets the user's bind succeeded and took
// them, so the link went silent to failoverd whenever that user liked (on
// every link: a takeover attempt against a live primary, its Test run on
// a conflict); SO_REUSEPORT is shared with the same user only.
func TestLocalUserCannotStealUnicastHeartbeats(t *testing.T) {
	lab.Require(t)
	kr := key(t, "0123456789abcdef0123")
	s1, m := twoServers(t, kr)
	heard := runMonitor(t, m, 100)
	s2 := strings.TrimSuffix(s1.Name, "s1") + "s2" // twoServers' other namespace
	var out lab.SyncBuffer
	steal := exec.Command("ip", "netns", "exec", s2, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", stealer)
	steal.Stdout, steal.Stderr = &out, &out
	if err := steal.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = steal.Process.Kill(); _ = steal.Wait() })
	if !lab.WaitFor(5*time.Second, func() bool {
		return strings.Contains(out.String(), "ready uid 65534") || strings.Contains(out.String(), "done uid 65534")
	}) {
		t.Fatalf("the stealer did not start: %s", out.String())
	}
	t.Logf("the unprivileged user's socket: %q", out.String())
	err := s1.Do(func() error {
		c, err := net.ListenPacket("udp4", "192.0.2.1:0")
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.WriteTo(packet(t, kr, 1, 1, time.Now()), &net.UDPAddr{IP: net.ParseIP("192.0.2.2"), Port: 1694})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-heard:
	case <-time.After(2 * time.Second):
		t.Fatalf("failoverd did not hear a unicast heartbeat (stats %+v); a non-root user's socket on its port got it: %q", m.Stats(), out.String())
	}
}
