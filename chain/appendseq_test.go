package chain

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
)

// TestAppendSeq: AppendSeq returns the last event's seq of each batch,
// concurrently with AppendBatch; the events it recorded are those the
// files hold; and the pooled requests it reuses never change an event
// slice AppendBatch returned.
func TestAppendSeq(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := openLog(t, dir, testOptions(t))
	type kept struct {
		evs  []Event
		copy []Event
	}
	var (
		mu       sync.Mutex
		returned []kept
		lasts    = map[uint64]int{} // last seq → batch size
		wg       sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := range 60 {
				n := 1 + (i+w)%5
				entries := make([]Entry, n)
				for j := range entries {
					entries[j] = Entry{Source: "test", Kind: "k", Payload: map[string]int{"w": w, "i": i, "j": j}}
				}
				if w%2 == 0 {
					last, err := l.AppendSeq(ctx, entries)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					lasts[last] = n
					mu.Unlock()
					continue
				}
				evs, err := l.AppendBatch(ctx, entries)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				returned = append(returned, kept{evs, append([]Event(nil), evs...)})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, k := range returned {
		if !reflect.DeepEqual(k.evs, k.copy) {
			t.Fatalf("an event slice AppendBatch returned changed later")
		}
	}
	files := readFiles(t, l.store, 0, l.Len())
	for last, n := range lasts {
		if last+1 < uint64(n) || last >= uint64(len(files)) {
			t.Fatalf("last seq %d of a batch of %d, chain of %d", last, n, len(files))
		}
		w := -1
		for j := range n {
			ev := files[last+1-uint64(n)+uint64(j)]
			var p struct{ W, I, J int }
			if _, err := fmt.Sscanf(string(ev.Payload), `{"i":%d,"j":%d,"w":%d}`, &p.I, &p.J, &p.W); err != nil {
				t.Fatalf("event %d: %s: %v", ev.Seq, ev.Payload, err)
			}
			if p.J != j || (w >= 0 && p.W != w) {
				t.Fatalf("batch ending at %d: event %d is %s", last, ev.Seq, ev.Payload)
			}
			w = p.W
		}
	}
	if _, err := l.AppendSeq(ctx, nil); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("AppendSeq of nothing: %v", err)
	}
	// A clean close leaves derived files that match the segments: the
	// reopen repairs nothing.
	closeLog(t, l)
	l = openLog(t, dir, testOptions(t))
	defer closeLog(t, l)
	if r := l.Repairs(); len(r) != 0 {
		t.Fatalf("reopen after a clean close repaired %q", r)
	}
}
