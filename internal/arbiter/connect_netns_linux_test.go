package arbiter

import (
	"context"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/lab"
)

// An attempt to connect to a member into a silent cut ends at the user
// timeout (half of Reconnect), as DialEtcd's backoff counts on ("an
// attempt into a silent cut ends at the user timeout, and the next
// follows the backoff, so that one starts at least once a reconnect"):
// otherwise a SYN goes out only at TCP's first SYN retransmission, a
// second later, and a connection through a cut that healed meanwhile
// comes back up to that late.
func TestAConnectionAttemptIntoASilentCutEndsAtTheUserTimeout(t *testing.T) {
	l := lab.New(t)
	a, b := l.Netns("a"), l.Netns("b")
	l.Veth(a, "va", b, "vb")
	a.Addr("va", "203.0.113.1/24")
	b.Addr("vb", "203.0.113.2/24")
	a.MustRun("ping", "-c1", "-W1", "203.0.113.2") // the neighbour known: only TCP is cut
	b.MustRun("nft", "add table inet cut; add chain inet cut in { type filter hook input priority 0; policy accept; }; add rule inet cut in ip saddr 203.0.113.1 tcp dport 2379 drop")
	unacked := DefaultReconnect / 2
	var took time.Duration
	var derr error
	if err := a.Do(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		c, err := tcpDialer(unacked)(ctx, "203.0.113.2:2379")
		took, derr = time.Since(start), err
		if c != nil {
			c.Close()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("a connection attempt into a silent cut ended after %v: %v", took, derr)
	if derr == nil {
		t.Fatal("the connection was made through the cut")
	}
	if took > unacked+100*time.Millisecond {
		t.Errorf("a connection attempt into a silent cut lasted %v, not the user timeout %v: the next SYN waits as long", took, unacked)
	}
}
