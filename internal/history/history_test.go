package history

import (
	"testing"
	"time"
)

func TestRingKeepsTheLastEventsInOrder(t *testing.T) {
	base := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	r := NewRing(3)
	if got := r.Since(time.Time{}); len(got) != 0 {
		t.Fatalf("a new ring holds %d events", len(got))
	}
	for i := range 5 {
		r.Add(Entry{At: base.Add(time.Duration(i) * time.Second), Kind: KindNotice, Detail: string(rune('a' + i))})
	}
	got := r.Since(time.Time{})
	if len(got) != 3 {
		t.Fatalf("%d events kept, want 3", len(got))
	}
	for i, e := range got {
		if want := string(rune('c' + i)); e.Detail != want || e.Seq != uint64(3+i) {
			t.Errorf("event %d: %q seq %d, want %q seq %d", i, e.Detail, e.Seq, want, 3+i)
		}
	}
	if n := r.Lost(); n != 2 {
		t.Errorf("lost %d, want 2", n)
	}
	since := r.Since(base.Add(3 * time.Second))
	if len(since) != 2 || since[0].Detail != "d" || since[1].Detail != "e" {
		t.Errorf("since 03:00:03: %+v", since)
	}
	if len(r.Since(base.Add(time.Hour))) != 0 {
		t.Error("events from the future")
	}
}

func TestRingBeforeItWraps(t *testing.T) {
	r := NewRing(0)
	if len(r.buf) != DefaultSize {
		t.Fatalf("size %d, want the default %d", len(r.buf), DefaultSize)
	}
	r.Add(Entry{Kind: KindStart})
	r.Add(Entry{Kind: KindTransition})
	got := r.Since(time.Time{})
	if len(got) != 2 || got[0].Kind != KindStart || got[1].Kind != KindTransition || r.Lost() != 0 {
		t.Errorf("%+v lost %d", got, r.Lost())
	}
}
