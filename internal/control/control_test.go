package control

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfailover/ipfailover/internal/notice"
)

func TestSocketRoundTripAndPermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "failoverd.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("socket mode %v %v", st.Mode(), err)
	}
	stop := serve(t, l, func(_ context.Context, r Request) Response {
		if r.Op != OpStatus {
			return Response{Error: "unknown request " + string(r.Op)}
		}
		return Response{OK: true, Status: &Status{State: "standby", Links: []Link{{Link: notice.Link{Name: "priv0", Alive: true}}}}}
	})
	resp, err := Call(path, Request{Op: OpStatus}, time.Second)
	if err != nil || !resp.OK || resp.Status.State != "standby" || resp.Status.Links[0].Name != "priv0" {
		t.Fatalf("%+v %v", resp, err)
	}
	if resp, _ := Call(path, Request{Op: "reboot"}, time.Second); resp.OK || !strings.Contains(resp.Error, "unknown request") {
		t.Fatalf("%+v", resp)
	}
	// A second daemon on the same socket is refused, naming the first.
	want := fmt.Sprintf("another failoverd (pid %d) runs and answers on %s (FAILOVER_CONTROL_SOCKET)", os.Getpid(), path)
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second listener: %v, want %q", err, want)
	}
	stop()
}

// serve runs Serve on l with h; stop ends it and fails the test if Serve
// returned an error.
func serve(t *testing.T, l net.Listener, h Handler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Serve(ctx, l, h, slog.New(slog.DiscardHandler)) }()
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// A socket file left by a crash (nobody answers on it) is replaced: the
// new one is mode 0600 and answers.
func TestStaleSocketIsReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "failoverd.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // as after a crash: the file stays, nobody answers
	if _, err := Call(path, Request{Op: OpStatus}, time.Second); err == nil {
		t.Fatal("the stale socket answered")
	}
	l2, err := Listen(path)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 || st.Mode()&os.ModeSocket == 0 {
		t.Fatalf("new socket mode %v %v", st.Mode(), err)
	}
	stop := serve(t, l2, func(context.Context, Request) Response {
		return Response{OK: true, Status: &Status{State: "active"}}
	})
	resp, err := Call(path, Request{Op: OpStatus}, time.Second)
	if err != nil || !resp.OK || resp.Status == nil || resp.Status.State != "active" {
		t.Fatalf("the new socket answered %+v, %v", resp, err)
	}
	stop()
}

func TestCallSaysWhatIsWrong(t *testing.T) {
	_, err := Call(filepath.Join(t.TempDir(), "nothing.sock"), Request{Op: OpStatus}, time.Second)
	if err == nil || !strings.Contains(err.Error(), "is failoverd running?") {
		t.Fatalf("%v", err)
	}
}
