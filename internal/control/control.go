// Package control is the local control socket between failoverctl and
// failoverd: one JSON request, one JSON response, per connection, on a
// unix socket only root can open.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/ipfailover/ipfailover/internal/arbiter"
	"github.com/ipfailover/ipfailover/internal/config"
	"github.com/ipfailover/ipfailover/internal/failover"
	"github.com/ipfailover/ipfailover/internal/history"
	"github.com/ipfailover/ipfailover/internal/hooks"
	"github.com/ipfailover/ipfailover/internal/instance"
	"github.com/ipfailover/ipfailover/internal/notice"
	"github.com/ipfailover/ipfailover/internal/standby"
	"github.com/ipfailover/ipfailover/internal/wire"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// OpStatus asks for failoverd's status and OpEvents for its event
// history; the other requests are the operator's commands to the state
// machine (failover.OpAcquire and so on).
const (
	OpStatus failover.Op = "status"
	OpEvents failover.Op = "events"
)

// Ops lists the requests failoverd answers with its status, status first
// (OpEvents, answered with events, is apart).
var Ops = []failover.Op{OpStatus, failover.OpAcquire, failover.OpRelease, failover.OpHold, failover.OpResume}

// Request is what failoverctl asks.
type Request struct {
	Op failover.Op `json:"op"`
	// Force: acquire even while another host answers for an address.
	Force bool `json:"force,omitempty"`
	// Since: the events at or after it (OpEvents); zero: all kept.
	Since time.Time `json:"since,omitzero"`
}

// Response is failoverd's answer.
type Response struct {
	OK      bool    `json:"ok"`
	Error   string  `json:"error,omitempty"`
	Message string  `json:"message,omitempty"` // what happened, for a person
	Status  *Status `json:"status,omitempty"`
	// Events are the history asked for with OpEvents, oldest first.
	Events []history.Entry `json:"events,omitempty"`
}

// Status is failoverd's state as failoverctl status shows it.
type Status struct {
	Node         string                     `json:"node"`
	State        failover.State             `json:"state"`
	Since        time.Time                  `json:"since"`
	Holding      bool                       `json:"holding"`
	Peer         string                     `json:"peer"`
	PeerName     string                     `json:"peer_name,omitempty"`
	PeerEpoch    uint64                     `json:"peer_epoch,omitempty"`
	PeerInterval time.Duration              `json:"peer_interval_ns"`
	Timeout      time.Duration              `json:"timeout_ns"`
	Links        []Link                     `json:"links"`
	OtherDropped map[wire.DropReason]uint64 `json:"other_dropped,omitempty"`
	Addresses    []Address                  `json:"addresses"`
	// Answering is the host that answers for an address while this one
	// does not hold it (or holds it too): a conflict.
	Answering *failover.Answering `json:"answering,omitempty"`
	// AskEvery is how often failoverd asks the link who answers for the
	// addresses now; zero: it does not ask.
	AskEvery time.Duration `json:"ask_every_ns,omitempty"`
	// PrimaryHealth is the primary's service as its heartbeats say.
	PrimaryHealth failover.Health `json:"primary_health"`
	// KeyIDs are the ids of the keys heartbeats are checked with here
	// (FAILOVER_AUTH_KEY_FILE); none: they are not checked.
	KeyIDs []string `json:"key_ids"`
	// Authentication says in words whether the primary's heartbeats are
	// authenticated: the keys here and what the packets heard carry.
	Authentication string  `json:"authentication"`
	Stages         []Stage `json:"stages,omitempty"`
	// Priority is this host's FAILOVER_PRIORITY; Standbys the other
	// standbys of the primary heard within the timeout, the highest
	// rank first; Yielding whom this host leaves the addresses to.
	Priority int                `json:"priority,omitempty"`
	Standbys []standby.Peer     `json:"standbys,omitempty"`
	Yielding *failover.Yielding `json:"yielding,omitempty"`
	// Arbiter is what the arbiter's client knows (FAILOVER_ARBITER):
	// the members answering, the lease, who holds each address's key;
	// nil: no arbiter.
	Arbiter *arbiter.Status `json:"arbiter,omitempty"`
}

// Link is one heartbeat link in the status: what the machine knows of it
// (the same notice.Link a notice carries) and the monitor's counts.
type Link struct {
	notice.Link
	Received uint64                     `json:"received"`
	Dropped  map[wire.DropReason]uint64 `json:"dropped,omitempty"`
	// Missing: the link's interface does not exist (a wrong name in the
	// pairs, or an interface gone), since MissingSince.
	Missing      bool      `json:"missing,omitempty"`
	MissingSince time.Time `json:"missing_since,omitzero"`
	// Auth is how the last packet from the primary on the link stood
	// with the keys here: one accepted, or one from its own addresses
	// refused for its authentication; absent: none came.
	Auth *LinkAuth `json:"auth,omitempty"`
}

// LinkAuth is how a packet from the primary stood with the keys here.
type LinkAuth struct {
	// State is authenticated (checked with a key here), unchecked (no
	// key here: accepted unchecked) or refused (a key here, and the
	// packet not signed with it: dropped).
	State  wire.AuthState `json:"state"`
	Signed bool           `json:"signed"`           // it carried a key id and tag
	KeyID  string         `json:"key_id,omitempty"` // the key id it carried
	// Detail says it in words: "heard, but not authenticated: key id
	// 1a2b3c4d here, 5e6f7a8b in the packets".
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
}

// Address is one public address and whether this host holds it.
type Address struct {
	Address string `json:"address"`
	Held    bool   `json:"held"`
}

// Stage is the last run of one hook stage.
type Stage struct {
	Stage   hooks.Stage    `json:"stage"`
	Address string         `json:"address"`
	At      time.Time      `json:"at"`
	Hooks   []hooks.Result `json:"hooks"`
}

// Handler answers one request.
type Handler func(ctx context.Context, r Request) Response

// Listen opens the socket at path with mode 0600, making its folder if
// needed, and holds the lock beside it until it is closed (see
// instance.Listener). A stale socket left by a crash is replaced; one
// that answers, or a lock held, means another failoverd runs, which is an
// error (an *instance.RunningError, naming its pid).
func Listen(path string) (*instance.Listener, error) {
	return instance.Listen(path, "failoverd", config.KeyControlSocket)
}

// Limits of the control socket: root's failoverctl sends a few bytes at
// once, so anything bigger or slower is not failoverctl.
const (
	maxRequest = 4 << 10 // bytes of one request
	maxConns   = 64      // connections served at once; more wait in the kernel's backlog
)

// requestTimeout is how long a client has to send its request, and
// failoverd to write its answer. A variable for tests.
var requestTimeout = 5 * time.Second

// Serve answers requests on l until ctx ends, and returns once the
// connections under way are done. It outlives a failing Accept (no
// descriptors left, say): it waits a moment and goes on.
func Serve(ctx context.Context, l net.Listener, h Handler, log *slog.Logger) error {
	go func() { <-ctx.Done(); l.Close() }()
	var conns sync.WaitGroup
	defer conns.Wait()
	slots := make(chan struct{}, maxConns)
	var backoff time.Duration
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		c, err := l.Accept()
		if err != nil {
			<-slots
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if backoff == 5*time.Millisecond {
				log.Error("control socket cannot accept a connection; trying again", "err", err)
			}
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return nil
			}
			continue
		}
		if backoff != 0 {
			log.Info("control socket accepts connections again")
			backoff = 0
		}
		conns.Go(func() {
			defer func() { <-slots }()
			serveOne(ctx, c, h, log)
		})
	}
}

func serveOne(ctx context.Context, c net.Conn, h Handler, log *slog.Logger) {
	defer c.Close()
	answer := func(r Response) {
		_ = c.SetWriteDeadline(time.Now().Add(requestTimeout))
		if err := json.NewEncoder(c).Encode(r); err != nil {
			log.Debug("control: cannot answer", "err", err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(requestTimeout))
	var req Request
	dec := json.NewDecoder(io.LimitReader(c, maxRequest))
	if err := dec.Decode(&req); err != nil {
		why := "bad request: " + err.Error()
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			why = fmt.Sprintf("bad request: not one JSON request of at most %d bytes", maxRequest)
		}
		answer(Response{Error: why})
		return
	}
	// acquire and release are answered when their job ends.
	_ = c.SetReadDeadline(time.Time{})
	answer(h(ctx, req))
}

// Call sends one request to the socket at path and returns the answer.
func Call(path string, r Request, timeout time.Duration) (Response, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Response{}, fmt.Errorf("no failoverd control socket at %s (is failoverd running? is --control-socket the same as failoverd's?)", path)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			// The socket file outlives a failoverd killed with -9 (or
			// crashed) until the next start replaces it.
			return Response{}, fmt.Errorf("%s: connection refused: nothing listens on it (is failoverd running? a failoverd that was killed leaves its socket file behind until it starts again)", path)
		}
		if errors.Is(err, os.ErrPermission) {
			return Response{}, fmt.Errorf("%s: permission denied (the control socket is root's: run failoverctl as root)", path)
		}
		return Response{}, fmt.Errorf("connect to failoverd at %s: %w", path, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if err := json.NewEncoder(c).Encode(r); err != nil {
		return Response{}, fmt.Errorf("send to failoverd: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return Response{}, fmt.Errorf("read failoverd's answer: %w", err)
	}
	return resp, nil
}
