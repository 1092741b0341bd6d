package failoverd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ipfailover/ipfailover/internal/wire"
)

// testStore opens a store in a new folder and returns its log.
func testStore(t *testing.T) (*ReplayStore, string, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	dir := filepath.Join(t.TempDir(), "state")
	s := OpenReplayStore(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if s == nil {
		t.Fatalf("no store in %s:\n%s", dir, logs.String())
	}
	return s, dir, &logs
}

// heartbeats is a sender's run of n heartbeats, 100 ms apart from start.
func heartbeats(epoch uint64, start time.Time, n int) []*wire.Packet {
	var out []*wire.Packet
	for i := range n {
		out = append(out, &wire.Packet{Type: wire.Heartbeat, Sender: "server1", Epoch: epoch, Seq: uint64(i + 1),
			Interval: 100 * time.Millisecond, SentAt: start.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	return out
}

// failoverd heard epoch 1, then epoch 2 (heartbeatd restarted), and was
// restarted itself; a recording of epoch 1 replayed before the live
// epoch 2 is heard again is refused, from what the file kept, and epoch 2
// goes on. Without the file the restarted guard took the recording.
func TestRestartedGuardRefusesRetiredEpochFromStore(t *testing.T) {
	s, _, logs := testStore(t)
	t0 := time.Unix(1_700_000_000, 0)
	e1, e2 := heartbeats(1, t0, 100), heartbeats(2, t0.Add(11*time.Second), 100)
	before := wire.NewReplayGuard(0)
	for _, p := range append(e1, e2[:30]...) {
		if err := before.Check(p, 0, p.SentAt); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Save(before.Records()); err != nil {
		t.Fatal(err)
	}

	after := wire.NewReplayGuard(0)
	after.Restore(s.Load(), t0.Add(15*time.Second))
	replay := t0.Add(15 * time.Second)
	for _, p := range e1[:80] {
		if err := after.Check(p, 1, replay.Add(p.SentAt.Sub(t0))); !errors.Is(err, wire.ErrRetired) {
			t.Fatalf("recorded packet %d of epoch 1 after the restart: %v\n%s", p.Seq, err, logs)
		}
	}
	for _, p := range e2[30:] {
		if err := after.Check(p, 0, p.SentAt.Add(time.Millisecond)); err != nil {
			t.Fatalf("live packet %d of epoch 2 after the restart: %v", p.Seq, err)
		}
	}
}

// The file is root's (the user's running the test) and mode 0600, and a
// save leaves no temporary file behind.
func TestReplayStoreSaveIsAtomicAndPrivate(t *testing.T) {
	s, dir, _ := testStore(t)
	recs := []wire.SenderRecord{{Sender: "server1", Epoch: 1 << 63, Top: 7, LastSent: time.Unix(1_700_000_000, 5).UTC(), Retired: []uint64{3, 1<<64 - 1}}}
	for range 3 {
		if err := s.Save(recs); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != replayFile {
		t.Fatalf("the folder holds %v", entries)
	}
	fi, err := os.Stat(filepath.Join(dir, replayFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, %v", fi.Mode(), err)
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("folder mode %v", di.Mode())
	}
	got := s.Load()
	if len(got) != 1 || got[0].Epoch != recs[0].Epoch || got[0].Top != 7 || !got[0].LastSent.Equal(recs[0].LastSent) ||
		len(got[0].Retired) != 2 || got[0].Retired[1] != 1<<64-1 {
		t.Fatalf("read back %+v", got)
	}
}

// A corrupt or unreadable file is logged, and failoverd starts with no
// memory; it never stops failoverd.
func TestReplayStoreCorruptStartsEmpty(t *testing.T) {
	for _, c := range []struct {
		name, body, log string
	}{
		{"junk", "\x00\x01garbage", "corrupt"},
		{"cut short", `{"version":1,"senders":[{"sender":"server1","ep`, "corrupt"},
		{"another version", `{"version":2,"senders":[]}`, "version 2"},
		{"wrong types", `{"version":1,"senders":[{"sender":5}]}`, "corrupt"},
		{"too long", `{"version":1,"senders":[],"x":"` + strings.Repeat("a", maxStoreSize) + `"}`, "longer than"},
	} {
		s, dir, logs := testStore(t)
		if err := os.WriteFile(filepath.Join(dir, replayFile), []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if got := s.Load(); got != nil {
			t.Errorf("%s: read %+v", c.name, got)
		}
		if !strings.Contains(logs.String(), c.log) || !strings.Contains(logs.String(), "no memory") {
			t.Errorf("%s: log says:\n%s", c.name, logs)
		}
	}
	// A folder in the file's place cannot be read either.
	s, dir, logs := testStore(t)
	if err := os.Mkdir(filepath.Join(dir, replayFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if got := s.Load(); got != nil || !strings.Contains(logs.String(), "no memory") {
		t.Errorf("a folder for a file: read %+v, log:\n%s", got, logs)
	}
}

// A file, or a folder, that another user could have written is not read,
// and the log says why and how to fix it.
func TestReplayStoreRefusesUnsafeFile(t *testing.T) {
	s, dir, logs := testStore(t)
	path := filepath.Join(dir, replayFile)
	if err := s.Save([]wire.SenderRecord{{Sender: "server1", Epoch: 1, Top: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o622); err != nil {
		t.Fatal(err)
	}
	if got := s.Load(); got != nil {
		t.Fatalf("a file others may write was read: %+v", got)
	}
	if l := logs.String(); !strings.Contains(l, "not reading the replay state") || !strings.Contains(l, "writable by group and others") || !strings.Contains(l, "chmod go-w") {
		t.Fatalf("log:\n%s", l)
	}
	// The next save puts a safe file in its place.
	if err := s.Save([]wire.SenderRecord{{Sender: "server1", Epoch: 1, Top: 2}}); err != nil {
		t.Fatal(err)
	}
	if got := s.Load(); len(got) != 1 || got[0].Top != 2 {
		t.Fatalf("after a save: %+v", got)
	}

	if os.Geteuid() == 0 {
		// Another user's file, mode 0600.
		if err := os.Chown(path, 1000, 1000); err != nil {
			t.Fatal(err)
		}
		logs.Reset()
		if got := s.Load(); got != nil || !strings.Contains(logs.String(), "owned by uid 1000") {
			t.Fatalf("another user's file: read %+v, log:\n%s", got, logs)
		}
	}

	// A folder others may write to is not used at all.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	if s := OpenReplayStore(dir, slog.New(slog.NewTextHandler(logs, nil))); s != nil {
		t.Fatal("a folder others may write to was used")
	}
	if l := logs.String(); !strings.Contains(l, "not keeping the replay state") || !strings.Contains(l, "chmod go-w") {
		t.Fatalf("log:\n%s", l)
	}
}

// An empty FAILOVER_STATE_DIR keeps nothing, and says so.
func TestReplayStoreOff(t *testing.T) {
	var logs bytes.Buffer
	s := OpenReplayStore("", slog.New(slog.NewTextHandler(&logs, nil)))
	if s != nil || s.Load() != nil || !strings.Contains(logs.String(), "no state folder") {
		t.Fatalf("store %v, log:\n%s", s, logs.String())
	}
	s.Keep(context.Background(), nil) // returns at once
}

// memory is a fake receiver's replay memory.
type memory struct {
	mu                sync.Mutex
	recs              []wire.SenderRecord
	adopted, accepted uint64
	epochs            chan struct{}
}

func (m *memory) ReplayMemory() ([]wire.SenderRecord, uint64, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]wire.SenderRecord(nil), m.recs...), m.adopted, m.accepted
}

func (m *memory) EpochChanged() <-chan struct{} { return m.epochs }

// hear is the guard accepting a packet: a new epoch is signalled.
func (m *memory) hear(epoch, seq uint64) {
	m.mu.Lock()
	m.accepted++
	newEpoch := len(m.recs) == 0 || m.recs[0].Epoch != epoch
	if newEpoch {
		m.adopted++
	}
	m.recs = []wire.SenderRecord{{Sender: "server1", Epoch: epoch, Top: seq}}
	m.mu.Unlock()
	if newEpoch {
		select {
		case m.epochs <- struct{}{}:
		default:
		}
	}
}

// A new epoch is written at once; a moving sequence number at most every
// saveEvery; the last state at stop.
func TestReplayStoreKeepWritesEpochsAtOnce(t *testing.T) {
	s, _, _ := testStore(t)
	top := func() (epoch, seq uint64) {
		recs := s.Load()
		if len(recs) == 0 {
			return 0, 0
		}
		return recs[0].Epoch, recs[0].Top
	}
	synctest.Test(t, func(t *testing.T) {
		m := &memory{epochs: make(chan struct{}, 1)}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Keep(ctx, m); close(done) }()

		m.hear(1, 1)
		synctest.Wait()
		if e, q := top(); e != 1 || q != 1 {
			t.Fatalf("after epoch 1's first packet the file says epoch %d, seq %d", e, q)
		}
		// Heartbeats every 10 ms for 4.9 s: not written.
		for seq := uint64(2); seq <= 491; seq++ {
			time.Sleep(10 * time.Millisecond)
			m.hear(1, seq)
		}
		synctest.Wait()
		if _, q := top(); q != 1 {
			t.Fatalf("written within %v of the last write (seq %d)", saveEvery, q)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if _, q := top(); q != 491 {
			t.Fatalf("not written after %v: seq %d", saveEvery, q)
		}
		// heartbeatd restarts: written at once.
		time.Sleep(time.Second)
		m.hear(2, 1)
		synctest.Wait()
		if e, _ := top(); e != 2 {
			t.Fatalf("the new epoch was not written at once: epoch %d", e)
		}
		m.hear(2, 2)
		cancel()
		<-done
		if e, q := top(); e != 2 || q != 2 {
			t.Fatalf("at stop the file says epoch %d, seq %d", e, q)
		}
	})
}

// The refusal of an unsafe store names who may write it: root, and the
// user failoverd runs as when that is not root.
func TestReplayStoreRiskNamesWhoMayWriteIt(t *testing.T) {
	want := "a user other than root could"
	if uid := os.Geteuid(); uid > 0 {
		want = fmt.Sprintf("a user other than root or uid %d could", uid)
	}
	if risk := storePolicy("do harm").Risk; !strings.HasPrefix(risk, want) {
		t.Fatalf("risk %q, want it to begin %q", risk, want)
	}
}

// A file that cannot be put in place (a folder stands there) is an
// error, and leaves no temporary file behind.
func TestReplayStoreSaveSaysWhenItCannotReplaceTheFile(t *testing.T) {
	s, dir, _ := testStore(t)
	blocker := filepath.Join(dir, replayFile)
	if err := os.MkdirAll(filepath.Join(blocker, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := s.Save([]wire.SenderRecord{{Sender: "server1", Epoch: 1, Top: 1}})
	if err == nil || !strings.Contains(err.Error(), "save the replay state") {
		t.Fatalf("Save over a folder: %v", err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != replayFile {
		t.Fatalf("left in the state folder: %v", ents)
	}
}

// A store that cannot be written is warned of once, however often it
// fails, and its recovery is said.
func TestReplayStoreKeepWarnsOnceOfFailedWrites(t *testing.T) {
	s, dir, logs := testStore(t)
	blocker := filepath.Join(dir, replayFile)
	if err := os.MkdirAll(filepath.Join(blocker, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		m := &memory{epochs: make(chan struct{}, 1)}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Keep(ctx, m); close(done) }()
		defer func() { cancel(); <-done }()
		m.hear(1, 1)
		synctest.Wait()
		m.hear(2, 1)
		synctest.Wait()
		time.Sleep(saveEvery)
		synctest.Wait()
		if n := strings.Count(logs.String(), "cannot write the replay state"); n != 1 {
			t.Fatalf("%d warnings after three failed writes, want 1:\n%s", n, logs)
		}
		if err := os.RemoveAll(blocker); err != nil {
			t.Fatal(err)
		}
		m.hear(2, 2)
		time.Sleep(saveEvery)
		synctest.Wait()
		if !strings.Contains(logs.String(), "replay state written again") {
			t.Fatalf("the recovery is not said:\n%s", logs)
		}
		if n := strings.Count(logs.String(), "cannot write the replay state"); n != 1 {
			t.Fatalf("%d warnings, want 1:\n%s", n, logs)
		}
	})
	if recs := s.Load(); len(recs) != 1 || recs[0].Epoch != 2 || recs[0].Top != 2 {
		t.Fatalf("the file says %+v, want epoch 2 at 2", recs)
	}
}
