package main

import (
	"fmt"
	"os"
	"testing"
)

// scope lets the driver use internal/lab, which speaks testing.TB, outside
// a test: Fatal ends the scope (not the program), Cleanup runs at its end.
// Embedding the interface satisfies testing.TB's unexported method; every
// method lab calls is implemented here.
type scope struct {
	testing.TB // nil: calling anything not below panics
	name       string
	cleanups   []func()
	failed     bool
	dir        string
	tempN      int
}

type scopeFatal struct{ msg string }

func (s *scope) Helper()                   {}
func (s *scope) Name() string              { return s.name }
func (s *scope) Failed() bool              { return s.failed }
func (s *scope) Cleanup(f func())          { s.cleanups = append(s.cleanups, f) }
func (s *scope) Logf(f string, a ...any)   { logf("%s: %s", s.name, fmt.Sprintf(f, a...)) }
func (s *scope) Log(a ...any)              { logf("%s: %s", s.name, fmt.Sprint(a...)) }
func (s *scope) Errorf(f string, a ...any) { s.failed = true; s.Logf(f, a...) }
func (s *scope) Error(a ...any)            { s.failed = true; s.Log(a...) }
func (s *scope) Fatalf(f string, a ...any) { s.failed = true; panic(scopeFatal{fmt.Sprintf(f, a...)}) }
func (s *scope) Fatal(a ...any)            { s.failed = true; panic(scopeFatal{fmt.Sprint(a...)}) }
func (s *scope) Skip(a ...any)             { panic(scopeFatal{"skipped: " + fmt.Sprint(a...)}) }
func (s *scope) Skipf(f string, a ...any)  { panic(scopeFatal{"skipped: " + fmt.Sprintf(f, a...)}) }
func (s *scope) TempDir() string {
	if s.dir == "" {
		d, err := os.MkdirTemp("", "ipfailover-bench-")
		if err != nil {
			s.Fatal(err)
		}
		s.dir = d
		s.Cleanup(func() { os.RemoveAll(d) })
	}
	s.tempN++
	d := fmt.Sprintf("%s/%d", s.dir, s.tempN)
	if err := os.Mkdir(d, 0o755); err != nil {
		s.Fatal(err)
	}
	return d
}

// run runs f in a fresh scope and returns its Fatal as an error; the
// scope's cleanups (daemons, namespaces) always run.
func run(name string, f func(s *scope)) (err error) {
	s := &scope{name: name}
	defer func() {
		for i := len(s.cleanups) - 1; i >= 0; i-- {
			s.cleanups[i]()
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			sf, ok := r.(scopeFatal)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s: %s", name, sf.msg)
		}
	}()
	f(s)
	return nil
}
