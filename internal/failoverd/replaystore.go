package failoverd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ipfailover/ipfailover/internal/safefile"
	"github.com/ipfailover/ipfailover/internal/wire"
)

const (
	// replayFile is the replay store's file in FAILOVER_STATE_DIR;
	// standbyReplayFile the standbys' (standby.Conn's guard).
	replayFile        = "replay.json"
	standbyReplayFile = "standby-replay.json"
	// saveEvery is how often the store is written while only sequence
	// numbers and send times move: heartbeats may come every 10 ms, and
	// a write costs an fsync.
	saveEvery = 5 * time.Second
	// maxStoreSize bounds what is read: 16 senders of 16 retired epochs
	// take a few KiB.
	maxStoreSize = 64 << 10
	storeVersion = 1
)

// storeFile is the replay store's file.
type storeFile struct {
	Version int                 `json:"version"`
	Senders []wire.SenderRecord `json:"senders"`
}

// ReplayMemory is the receiver whose replay guard is kept on disk
// (monitor.Monitor).
type ReplayMemory interface {
	ReplayMemory() (recs []wire.SenderRecord, adopted, accepted uint64)
	EpochChanged() <-chan struct{}
}

// ReplayStore keeps the replay guard's memory in a file, so that a
// restarted failoverd still refuses the primary's runs (epochs), the
// sequence numbers and the send times it had left behind: without it a
// recording of an earlier heartbeatd, replayed after failoverd restarts,
// could take the live one's place.
//
// The file is written whole to a temporary file in the same folder,
// synced and renamed over the old one, so a crash leaves the old file or
// the new one, never part of one. It is written when the guard takes on
// an epoch and, while only sequence numbers move, at most every
// saveEvery, and at stop. It is read only when nobody but root (or the
// user failoverd runs as) could have written it or replaced a folder
// above it; unsafe, unreadable or corrupt, it is logged and failoverd
// starts remembering nothing. A nil *ReplayStore keeps nothing.
type ReplayStore struct {
	path   string
	log    *slog.Logger
	policy safefile.Policy
	// runs is what it remembers, for the log: "the primary's earlier
	// runs", "the other standbys' earlier runs".
	runs string
}

// storePolicy trusts root, and the user failoverd runs as; risk says
// what another user could do with the file.
func storePolicy(risk string) safefile.Policy {
	p := safefile.Policy{Owner: safefile.Self(), What: "the replay state"}
	who := "root"
	if p.Owner != 0 {
		who = fmt.Sprintf("root or uid %d", p.Owner)
	}
	p.Risk = "a user other than " + who + " could " + risk
	return p
}

// OpenReplayStore makes dir (FAILOVER_STATE_DIR, mode 0700) when it is
// missing and returns its store, or nil, logged, when dir is empty, cannot
// be made, or another user could change it.
func OpenReplayStore(dir string, log *slog.Logger) *ReplayStore {
	return openReplayStore(dir, replayFile, "the primary's earlier runs",
		"make failoverd refuse the primary's heartbeats, or take a recording of an earlier heartbeatd for the live one", log)
}

// OpenStandbyReplayStore is the store of the standbys' replay guard
// (standby.Conn), in the same folder: without it a recording of a
// standby that held the addresses, sent again to a failoverd just
// started, holds it back for as long as the replay window.
func OpenStandbyReplayStore(dir string, log *slog.Logger) *ReplayStore {
	return openReplayStore(dir, standbyReplayFile, "the other standbys' earlier runs",
		"make failoverd refuse the other standbys' announcements, or take a recording of a standby that held the addresses for a live one", log)
}

func openReplayStore(dir, file, runs, risk string, log *slog.Logger) *ReplayStore {
	if dir == "" {
		log.Info("no state folder: a restarted failoverd will not remember " + runs)
		return nil
	}
	s := &ReplayStore{path: filepath.Join(dir, file), log: log, policy: storePolicy(risk), runs: runs}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		log.Error("cannot make the state folder; a restarted failoverd will not remember "+runs, "dir", dir, "err", err)
		return nil
	}
	if err := s.policy.Check(dir); err != nil {
		s.refuse("not keeping the replay state; a restarted failoverd will not remember "+runs, err)
		return nil
	}
	return s
}

// refuse logs why the store or its file is not used.
func (s *ReplayStore) refuse(msg string, err error) {
	if ue, ok := errors.AsType[*safefile.UnsafeError](err); ok {
		s.log.Error(msg, "path", ue.Path, "on_path_to", ue.On, "why", ue.Reason+", so "+ue.Risk, "fix", ue.Fix)
		return
	}
	s.log.Error(msg, "path", s.path, "err", err)
}

// Load reads what the guard remembered before a restart: nil when there
// is nothing, or nothing that may be trusted (logged).
func (s *ReplayStore) Load() []wire.SenderRecord {
	if s == nil {
		return nil
	}
	if err := s.policy.Check(s.path); errors.Is(err, fs.ErrNotExist) {
		s.log.Info("no replay state yet: nothing remembered of "+s.runs, "path", s.path)
		return nil
	} else if err != nil {
		s.refuse("not reading the replay state, starting with no memory of "+s.runs, err)
		return nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		s.refuse("cannot read the replay state, starting with no memory of "+s.runs, err)
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStoreSize+1))
	var st storeFile
	switch {
	case err != nil:
	case len(b) > maxStoreSize:
		err = fmt.Errorf("longer than %d bytes", maxStoreSize)
	default:
		if err = json.Unmarshal(b, &st); err == nil && st.Version != storeVersion {
			err = fmt.Errorf("version %d, not %d", st.Version, storeVersion)
		}
	}
	if err != nil {
		s.log.Warn("the replay state is corrupt; starting with no memory of "+s.runs+" (it is written again soon)", "path", s.path, "err", err)
		return nil
	}
	s.log.Info("replay state read", "path", s.path, "senders", len(st.Senders))
	return st.Senders
}

// Save writes recs atomically.
func (s *ReplayStore) Save(recs []wire.SenderRecord) (err error) {
	b, err := json.Marshal(storeFile{Version: storeVersion, Senders: recs})
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".*")
	if err != nil {
		return fmt.Errorf("save the replay state: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("save the replay state: %w", err)
		}
	}()
	// CreateTemp makes it 0600, whatever the umask.
	if _, err = f.Write(b); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), s.path); err != nil {
		return err
	}
	// The rename lasts once the folder is synced.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Keep writes m's memory when it takes on an epoch and, when only its
// packets moved, at most every saveEvery, until ctx ends; then once more.
func (s *ReplayStore) Keep(ctx context.Context, m ReplayMemory) {
	if s == nil {
		return
	}
	var saved uint64 // packets accepted at the last write
	failing := false
	save := func() {
		recs, _, accepted := m.ReplayMemory()
		if accepted == saved {
			return
		}
		if err := s.Save(recs); err != nil {
			if !failing {
				s.log.Warn("cannot write the replay state; a restart would forget "+s.runs, "path", s.path, "err", err)
			}
			failing = true
			return
		}
		if failing {
			s.log.Info("replay state written again", "path", s.path)
		}
		failing, saved = false, accepted
	}
	tick := time.NewTicker(saveEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			save()
			return
		case <-m.EpochChanged():
			save()
		case <-tick.C:
			save()
		}
	}
}
