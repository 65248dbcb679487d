package chain

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// readFiles returns events from <= seq < to as read back from the
// segments (not the recent window).
func readFiles(t *testing.T, s *store, from, to uint64) []Event {
	t.Helper()
	var out []Event
	for e, err := range s.Events(from, to) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestRecentEventsMatchFiles: what AppendEvents serves from memory is
// exactly what the segments hold, across concurrent appends, segment
// rotation and checkpoints; ranges the window does not cover come from
// the files; after a reopen everything does.
func TestRecentEventsMatchFiles(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t)
	opts.SegmentSize = 8 << 10
	opts.CheckpointEvery = 40
	l := openLog(t, dir, opts)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range 100 {
				entries := make([]Entry, 1+r.IntN(4))
				for j := range entries {
					entries[j] = Entry{Source: fmt.Sprintf("w%d", w), Kind: "k",
						Payload: map[string]any{"i": i, "j": j, "pad": strings.Repeat("x", r.IntN(300))}}
				}
				if _, err := l.AppendBatch(context.Background(), entries); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	n := l.Len()
	r := rand.New(rand.NewPCG(3, 4))
	fromWindow := 0
	for range 300 {
		from := r.Uint64N(n + 1)
		to := from + r.Uint64N(n-from+3) // past the end too: clamped
		l.mu.RLock()
		_, inWindow := l.recent.appendRange(nil, from, min(to, n))
		l.mu.RUnlock()
		if inWindow && from < min(to, n) {
			fromWindow++
		}
		got, err := l.AppendEvents([]Event{{Kind: "kept"}}, from, to)
		if err != nil {
			t.Fatal(err)
		}
		want := readFiles(t, l.store, from, to)
		if got[0].Kind != "kept" || len(got)-1 != len(want) || len(want) > 0 && !reflect.DeepEqual(got[1:], want) {
			t.Fatalf("events %d..%d differ from the files (window: %v)", from, to, inWindow)
		}
	}
	if fromWindow == 0 {
		t.Fatal("no range was served from the window")
	}
	closeLog(t, l)
	l = openLog(t, dir, opts)
	defer closeLog(t, l)
	got, err := l.AppendEvents(nil, 0, n)
	if err != nil || uint64(len(got)) != n {
		t.Fatalf("after reopen: %d events, %v", len(got), err)
	}
}

// TestRecentEventsBounds: the window keeps at most maxRecent events and
// maxRecentBytes of payload, the newest, contiguous.
func TestRecentEventsBounds(t *testing.T) {
	var w recentEvents
	big := make([]byte, maxRecentBytes/10)
	for seq := range uint64(maxRecent + 100) {
		e := Event{Seq: seq}
		if seq%1000 == 7 {
			e.Payload = big
		}
		w.add(&e)
		if w.n > maxRecent || w.bytes > maxRecentBytes || w.first+uint64(w.n) != seq+1 {
			t.Fatalf("after %d: %d events from %d, %d bytes", seq, w.n, w.first, w.bytes)
		}
	}
	for seq := uint64(maxRecent + 100); seq < maxRecent+120; seq++ {
		w.add(&Event{Seq: seq, Payload: big})
		if w.bytes > maxRecentBytes || w.first+uint64(w.n) != seq+1 {
			t.Fatalf("after %d: %d events from %d, %d bytes", seq, w.n, w.first, w.bytes)
		}
	}
	if _, ok := w.appendRange(nil, w.first-1, w.first+1); ok {
		t.Fatal("a range starting before the window was served")
	}
	// A gap empties the window.
	w.add(&Event{Seq: w.first + uint64(w.n) + 5})
	if w.n != 1 {
		t.Fatalf("after a gap: %d events", w.n)
	}
}

// TestAppendEventsBehindWindow: a range that starts before the window
// and ends in it is read from the files up to the window and from memory
// after, and equals what the files hold.
func TestAppendEventsBehindWindow(t *testing.T) {
	l := openLog(t, t.TempDir(), testOptions(t))
	defer closeLog(t, l)
	l.mu.Lock()
	l.recent.limit, l.recent.limitBytes = 50, 1<<20
	l.mu.Unlock()
	for i := range 80 {
		entries := make([]Entry, 1+i%5)
		for j := range entries {
			entries[j] = Entry{Source: "test", Kind: "k", Payload: map[string]int{"i": i, "j": j}}
		}
		if _, err := l.AppendBatch(context.Background(), entries); err != nil {
			t.Fatal(err)
		}
	}
	n := l.Len()
	l.mu.RLock()
	first, held := l.recent.first, uint64(l.recent.n)
	l.mu.RUnlock()
	if held != 50 || first+held != n {
		t.Fatalf("window holds %d events from %d, chain of %d", held, first, n)
	}
	r := rand.New(rand.NewPCG(5, 6))
	straddled := 0
	for range 200 {
		from := r.Uint64N(first + 1)
		to := first + 1 + r.Uint64N(n-first)
		if from < first {
			straddled++
		}
		got, err := l.AppendEvents(nil, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if want := readFiles(t, l.store, from, to); !reflect.DeepEqual(got, want) {
			t.Fatalf("events %d..%d (window from %d) differ from the files", from, to, first)
		}
	}
	if straddled == 0 {
		t.Fatal("no range straddled the window's start")
	}
}
