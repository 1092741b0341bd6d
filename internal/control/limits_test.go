package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func statusHandler(_ context.Context, r Request) Response {
	return Response{OK: true, Status: &Status{State: "standby"}}
}

func listen(t *testing.T) (string, net.Listener) {
	path := filepath.Join(t.TempDir(), "failoverd.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, l
}

// shortRequestTimeout gives clients 200 ms to send their request, for the
// test's length.
func shortRequestTimeout(t *testing.T) {
	old := requestTimeout
	requestTimeout = 200 * time.Millisecond
	t.Cleanup(func() { requestTimeout = old })
}

// failingListener fails its first Accept calls as a process out of
// descriptors does.
type failingListener struct {
	net.Listener
	failures atomic.Int32
}

func (f *failingListener) Accept() (net.Conn, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "unix", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return f.Listener.Accept()
}

// Running out of descriptors once used to end the control socket for
// the life of the process.
func TestServeOutlivesAcceptErrors(t *testing.T) {
	path, l := listen(t)
	fl := &failingListener{Listener: l}
	fl.failures.Store(8)
	stop := serve(t, fl, statusHandler)
	defer stop()
	resp, err := Call(path, Request{Op: OpStatus}, 10*time.Second)
	if err != nil || !resp.OK {
		t.Fatalf("after %d failed accepts: %+v %v", 8, resp, err)
	}
}

// A connection that sends nothing is closed, so idle clients cannot hold
// the socket's slots.
func TestIdleConnectionIsClosed(t *testing.T) {
	shortRequestTimeout(t)
	path, l := listen(t)
	stop := serve(t, l, statusHandler)
	defer stop()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil || resp.OK || !strings.Contains(resp.Error, "bad request") {
		t.Fatalf("idle connection: %+v %v", resp, err)
	}
	if _, err := bufio.NewReader(c).ReadByte(); err == nil {
		t.Fatal("idle connection still open after the answer")
	}
}

// More connections than the socket serves at once wait in the kernel's
// backlog; once the idle ones are closed, a real request is answered.
func TestManyIdleConnectionsDoNotLockOut(t *testing.T) {
	shortRequestTimeout(t)
	path, l := listen(t)
	stop := serve(t, l, statusHandler)
	defer stop()
	var idle []net.Conn
	for range 2 * maxConns {
		c, err := net.Dial("unix", path)
		if err != nil {
			break // the backlog is full: that is the kernel's limit
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	if len(idle) <= maxConns {
		t.Fatalf("only %d connections could be opened", len(idle))
	}
	resp, err := Call(path, Request{Op: OpStatus}, 10*time.Second)
	if err != nil || !resp.OK {
		t.Fatalf("with %d idle connections: %+v %v", len(idle), resp, err)
	}
}

// A huge request is cut off at maxRequest: refused at once, never read
// whole into memory.
func TestHugeRequestIsRefused(t *testing.T) {
	path, l := listen(t)
	stop := serve(t, l, statusHandler)
	defer stop()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wrote := make(chan error, 1)
	go func() {
		chunk := []byte(`{"op":"` + strings.Repeat("a", 1<<16))
		var err error
		for i := 0; i < 1600 && err == nil; i++ { // up to 100 MiB
			_, err = c.Write(chunk)
		}
		wrote <- err
	}()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil || resp.OK || !strings.Contains(resp.Error, "at most 4096 bytes") {
		t.Fatalf("huge request: %+v %v", resp, err)
	}
	select {
	case err := <-wrote:
		if err == nil {
			t.Fatal("failoverd read 100 MiB of request")
		}
		if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
			t.Logf("writer stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the writer was never cut off")
	}
}
