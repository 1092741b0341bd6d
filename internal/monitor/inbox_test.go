package monitor

import (
	"context"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// counted is how many packets m counted, received or dropped.
func counted(m *Monitor) (n uint64) {
	for _, st := range m.Stats() {
		n += st.Received
		for _, d := range st.Dropped {
			n += d
		}
	}
	return n
}

// An inbox holds as many datagrams as a socket's buffer would: more are
// lost unseen, as are datagrams put after it closed.
func TestAnInboxHoldsWhatASocketBufferWould(t *testing.T) {
	t0, _ := testMonitor(t, wire.NewKeyring(), false)
	in := NewInbox()
	m := Fed(t0.cfg, t0.log, in)
	junk := Datagram{B: []byte("junk"), IfIndex: 2, From: primaryPriv}
	for range inboxCap + 1 {
		in.Put(junk)
	}
	drainAll := func() {
		for before := counted(m); ; before = counted(m) {
			m.Drain(func([]Heard) {})
			if counted(m) == before {
				return
			}
		}
	}
	drainAll()
	if n := counted(m); n != inboxCap {
		t.Fatalf("%d datagrams put in an inbox of %d, %d read", inboxCap+1, inboxCap, n)
	}
	in.Close()
	in.Put(junk)
	drainAll()
	if n := counted(m); n != inboxCap {
		t.Fatalf("a datagram put after the inbox closed was read (%d in all)", n)
	}
}

// Run reads what is put in an inbox at once, a stalled inbox's reader
// reads nothing until it goes on, and Drain takes what waits in it
// meanwhile. Neither hands over an empty batch: a wakeup whose packets
// were all dropped (none from the primary's own addresses, which are
// delivered as dropped), or a Drain that found nothing, delivers nothing.
func TestRunAndDrainReadAnInbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		kr := wire.NewKeyring()
		t0, _ := testMonitor(t, kr, false)
		in := NewInbox()
		m := Fed(t0.cfg, t0.log, in)
		var ran, drained [][]Heard
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- m.Run(ctx, func(hs []Heard) { ran = append(ran, append([]Heard(nil), hs...)) })
		}()
		defer cancel()
		drain := func() { m.Drain(func(hs []Heard) { drained = append(drained, append([]Heard(nil), hs...)) }) }
		put := func(seq uint64) {
			in.Put(Datagram{B: packet(t, kr, 1, seq, time.Now()), IfIndex: 2, From: primaryPriv})
		}

		put(1)
		synctest.Wait()
		if len(ran) != 1 || len(ran[0]) != 1 || ran[0][0].Packet.Seq != 1 {
			t.Fatalf("Run delivered %v, want seq 1", ran)
		}
		in.Put(Datagram{B: []byte("junk"), IfIndex: 2, From: netip.MustParseAddr("192.0.2.50")})
		synctest.Wait()
		drain()
		if len(ran) != 1 || len(drained) != 0 {
			t.Fatalf("dropped junk and an empty Drain delivered batches: Run %v, Drain %v", ran, drained)
		}
		if counted(m) != 2 {
			t.Fatalf("counted %d packets, want 2", counted(m))
		}

		in.Stall(true)
		put(2)
		synctest.Wait()
		if len(ran) != 1 {
			t.Fatalf("a stalled inbox's reader delivered %v", ran[1:])
		}
		drain()
		if len(drained) != 1 || len(drained[0]) != 1 || drained[0][0].Packet.Seq != 2 {
			t.Fatalf("Drain of a stalled inbox delivered %v, want seq 2", drained)
		}
		put(3)
		in.Stall(false)
		synctest.Wait()
		if len(ran) != 2 || ran[1][0].Packet.Seq != 3 {
			t.Fatalf("the reader, going on, delivered %v, want seq 3", ran)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}
