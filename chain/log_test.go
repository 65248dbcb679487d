package chain

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestLogAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t)
	l := openLog(t, dir, opts)
	evs := appendN(t, l, 25)
	for i, e := range evs {
		if e.Seq != uint64(i) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		if i > 0 && e.PrevHash != evs[i-1].Hash {
			t.Fatalf("event %d not linked", i)
		}
		got, err := l.Get(e.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if got.Hash != e.Hash || string(got.Payload) != string(e.Payload) {
			t.Fatalf("Get(%d) = %+v, want %+v", i, got, e)
		}
	}
	if _, err := l.Get(25); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get past end: %v", err)
	}
	if string(evs[0].Payload) != `{"html":"<b>&</b>","i":0,"name":"evt"}` {
		t.Fatalf("payload not canonical: %s", evs[0].Payload)
	}
	if !evs[1].PayloadHash.IsZero() || evs[1].Payload != nil {
		t.Fatalf("nil payload must hash to zero: %+v", evs[1])
	}
	closeLog(t, l)

	rep := mustVerify(t, dir)
	if rep.Events != 25 || rep.Uncovered != 0 || rep.LastCheckpoint == nil || rep.LastCheckpoint.Size != 25 {
		t.Fatalf("report after close: %+v", rep)
	}

	l = openLog(t, dir, opts)
	if n, h := l.Head(); n != 25 || h != evs[24].Hash {
		t.Fatalf("reopened head = %d %s", n, h)
	}
	more := appendN(t, l, 5)
	if more[0].Seq != 25 || more[0].PrevHash != evs[24].Hash {
		t.Fatalf("chain did not resume: %+v", more[0])
	}
	var n int
	for e, err := range l.Events(20, 100) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != uint64(20+n) {
			t.Fatalf("iteration order: %d", e.Seq)
		}
		n++
	}
	if n != 10 {
		t.Fatalf("iterated %d events, want 10", n)
	}
	closeLog(t, l)
	mustVerify(t, dir)

	r, err := OpenReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Len() != 30 || r.CheckpointCount() != 2 {
		t.Fatalf("reader: len %d checkpoints %d", r.Len(), r.CheckpointCount())
	}
	cp, ok := r.LatestCheckpoint()
	if !ok || cp.Size != 30 {
		t.Fatalf("latest checkpoint %+v", cp)
	}
	for seq := range uint64(30) {
		p, cp, err := r.InclusionProof(seq)
		if err != nil {
			t.Fatal(err)
		}
		e, _ := r.Get(seq)
		if err := VerifyInclusion(r.PublicKeys(), cp, e.Hash, p); err != nil {
			t.Fatalf("inclusion %d: %v", seq, err)
		}
	}
	old, _ := r.CheckpointAt(0)
	cpr, err := r.ConsistencyProof(old.Size, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistency(r.PublicKeys(), old, cp, cpr); err != nil {
		t.Fatal(err)
	}
	cov, err := r.CheckpointCovering(26)
	if err != nil || cov.Size != 30 {
		t.Fatalf("CheckpointCovering(26) = %v, %v", cov.Size, err)
	}
}

func TestLogConcurrentAppendsAndRotation(t *testing.T) {
	for _, depth := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("sync-depth=%d", depth), func(t *testing.T) { testConcurrentAppendsAndRotation(t, depth) })
	}
}

func testConcurrentAppendsAndRotation(t *testing.T, depth int) {
	dir := t.TempDir()
	opts := testOptions(t)
	opts.SegmentSize = 4096
	opts.CheckpointEvery = 50
	opts.SyncDepth = depth
	l := openLog(t, dir, opts)
	const workers, per = 8, 40
	var wg sync.WaitGroup
	seen := make([][]Event, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				e, err := l.Append(context.Background(), fmt.Sprintf("w%d", w), "k", map[string]int{"i": i})
				if err != nil {
					t.Error(err)
					return
				}
				seen[w] = append(seen[w], e)
				if _, err := l.Get(e.Seq); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if l.Len() != workers*per {
		t.Fatalf("len %d", l.Len())
	}
	for w := range seen {
		for _, e := range seen[w] {
			got, err := l.Get(e.Seq)
			if err != nil || got.Hash != e.Hash {
				t.Fatalf("event %d: %v", e.Seq, err)
			}
		}
	}
	closeLog(t, l)
	if n := len(segmentPaths(t, dir)); n < 3 {
		t.Fatalf("expected rotation, got %d segments", n)
	}
	rep := mustVerify(t, dir)
	if rep.Checkpoints < 2 {
		t.Fatalf("expected count-triggered checkpoints, got %d", rep.Checkpoints)
	}
	// Reopen across segments and continue.
	l = openLog(t, dir, opts)
	appendN(t, l, 3)
	closeLog(t, l)
	mustVerify(t, dir)
}

func TestCheckpointTiming(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t)
	clock := opts.Clock.(*fakeClock)
	l := openLog(t, dir, opts)
	defer closeLog(t, l)
	e, err := l.Append(context.Background(), "s", "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.LatestCheckpoint(); ok {
		t.Fatal("checkpoint before the interval elapsed")
	}
	// The timer is armed by the committer after the append is acknowledged;
	// advance until it fires.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan Checkpoint, 1)
	go func() {
		cp, err := l.WaitCovered(ctx, e.Seq)
		if err != nil {
			t.Error(err)
		}
		got <- cp
	}()
	for {
		clock.Advance(DefaultCheckpointInterval / 2)
		select {
		case cp := <-got:
			if cp.Size != 1 {
				t.Fatalf("checkpoint size %d", cp.Size)
			}
			if err := cp.Verify(l.PublicKeys()); err != nil {
				t.Fatal(err)
			}
			return
		case <-ctx.Done():
			t.Fatal("no checkpoint after the interval")
		case <-time.After(time.Millisecond):
		}
	}
}

func TestOpenRejects(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t)
	l := openLog(t, dir, opts)
	if _, err := Open(context.Background(), dir, opts); err == nil {
		t.Fatal("second writer on the same dir allowed")
	}
	tests := []struct {
		name    string
		source  string
		kind    string
		payload any
	}{
		{"bad utf8 source", "\xff", "k", nil},
		{"long kind", "s", string(make([]byte, MaxNameLen+1)), nil},
		{"nan payload", "s", "k", map[string]any{"x": func() {}}},
		{"invalid raw json", "s", "k", []byte("{")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := l.Append(context.Background(), tt.source, tt.kind, tt.payload); !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("err = %v, want ErrInvalidEvent", err)
			}
		})
	}
	closeLog(t, l)
	if _, err := l.Append(context.Background(), "s", "k", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	other := opts
	other.Keys = testKeys(t, "other")
	if _, err := Open(context.Background(), dir, other); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("open with other keys: %v", err)
	}
	other = opts
	other.Origin = "other-node"
	if _, err := Open(context.Background(), dir, other); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("open with other origin: %v", err)
	}
}
