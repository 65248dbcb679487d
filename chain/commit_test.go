package chain

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/durable"
)

// heldSyncs makes every sync of a Log wait for the test: each sync
// announces itself on the channel and returns what the test sends back
// (after a real fdatasync when that is nil).
func heldSyncs(opts *Options) chan chan error {
	calls := make(chan chan error, 16)
	opts.syncData = func(f *os.File) error {
		ch := make(chan error)
		calls <- ch
		if err := <-ch; err != nil {
			return err
		}
		return durable.DataSync(f)
	}
	return calls
}

type appendResult struct {
	ev  Event
	err error
}

func appendAsync(l *Log, kind string) chan appendResult {
	out := make(chan appendResult, 1)
	go func() {
		e, err := l.Append(context.Background(), "test", kind, nil)
		out <- appendResult{e, err}
	}()
	return out
}

func nextSync(t *testing.T, calls chan chan error) chan error {
	t.Helper()
	select {
	case ch := <-calls:
		return ch
	case <-time.After(10 * time.Second):
		t.Fatal("no sync started")
		return nil
	}
}

func result(t *testing.T, r chan appendResult) appendResult {
	t.Helper()
	select {
	case res := <-r:
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("append never returned")
		return appendResult{}
	}
}

func pendingResult(r chan appendResult) bool {
	select {
	case res := <-r:
		r <- res
		return false
	default:
		return true
	}
}

// TestPipelinedSyncs: a batch arriving while another's fsync is in flight
// gets its own fsync at once; with every slot busy the next batch waits
// for a free one; a sync that finishes early acknowledges nothing until
// every sync started before it has succeeded, and acknowledgements come in
// chain order.
func TestPipelinedSyncs(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t)
	calls := heldSyncs(&opts)
	l := openLog(t, dir, opts)

	a1 := appendAsync(l, "one")
	s1 := nextSync(t, calls)
	a2 := appendAsync(l, "two")
	s2 := nextSync(t, calls) // started while s1 is in flight
	a3 := appendAsync(l, "three")
	s2 <- nil
	// s2's completion frees a slot: the sync for a3 starts, which shows
	// the committer has taken s2's result — and acknowledged nothing.
	s3 := nextSync(t, calls)
	if !pendingResult(a2) || !pendingResult(a1) || l.Len() != 0 {
		t.Fatalf("acknowledged before the first sync finished (len %d)", l.Len())
	}
	s1 <- nil
	r1, r2 := result(t, a1), result(t, a2)
	if r1.err != nil || r2.err != nil || r1.ev.Seq != 0 || r2.ev.Seq != 1 {
		t.Fatalf("after the syncs: %+v %+v", r1, r2)
	}
	if !pendingResult(a3) {
		t.Fatal("acknowledged before its sync finished")
	}
	s3 <- nil
	if r3 := result(t, a3); r3.err != nil || r3.ev.Seq != 2 {
		t.Fatalf("third: %+v", r3)
	}
	done := make(chan error, 1)
	go func() { done <- l.Close(context.Background()) }()
	for {
		select {
		case ch := <-calls: // the final checkpoint's sync
			ch <- nil
			continue
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		}
		break
	}
	if rep := mustVerify(t, dir); rep.Events != 3 {
		t.Fatalf("%d events", rep.Events)
	}
}

// TestPipelinedSyncFailure: the first failed fsync fails the log — the
// batch it covered, every batch written after it (even one whose own
// fsync succeeded first), and every later append — and the log reports
// the error.
func TestPipelinedSyncFailure(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t)
	calls := heldSyncs(&opts)
	l := openLog(t, dir, opts)

	a1 := appendAsync(l, "one")
	s1 := nextSync(t, calls)
	a2 := appendAsync(l, "two")
	s2 := nextSync(t, calls)
	a3 := appendAsync(l, "three")
	s2 <- nil
	s3 := nextSync(t, calls)
	eio := errors.New("injected EIO")
	s1 <- eio
	for i, a := range []chan appendResult{a1, a2, a3} {
		if r := result(t, a); !errors.Is(r.err, eio) {
			t.Fatalf("append %d after a failed fsync: %+v", i+1, r)
		}
	}
	s3 <- nil
	if _, err := l.Append(context.Background(), "test", "later", nil); !errors.Is(err, eio) {
		t.Fatalf("append after the failure: %v", err)
	}
	if !errors.Is(l.Err(), eio) {
		t.Fatalf("Err() = %v", l.Err())
	}
	if l.Len() != 0 {
		t.Fatalf("%d events published", l.Len())
	}
	if err := l.Close(context.Background()); !errors.Is(err, eio) {
		t.Fatalf("Close = %v", err)
	}
}

// TestIndexWriteFailureFailsClosed: a batch whose sync succeeded but whose
// index rows cannot be written is not acknowledged as a success; the log
// fails and refuses later appends.
func TestIndexWriteFailureFailsClosed(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t)
	calls := heldSyncs(&opts)
	l := openLog(t, dir, opts)

	a1 := appendAsync(l, "one")
	s1 := nextSync(t, calls)
	a2 := appendAsync(l, "two")
	s2 := nextSync(t, calls)
	s1 <- nil
	if r := result(t, a1); r.err != nil {
		t.Fatal(r.err)
	}
	l.store.index.f.Close() // the next index write fails
	s2 <- nil
	if r := result(t, a2); r.err == nil {
		t.Fatalf("acknowledged without its index row: %+v", r)
	}
	if _, err := l.Append(context.Background(), "test", "later", nil); err == nil || l.Err() == nil {
		t.Fatalf("append after the failure: %v (Err %v)", err, l.Err())
	}
	if l.Len() != 1 {
		t.Fatalf("%d events published", l.Len())
	}
	if err := l.Close(context.Background()); err == nil {
		t.Fatal("Close reported no failure")
	}
}
