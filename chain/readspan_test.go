package chain

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"
)

// eventsByGet is Events as it was: Get, event by event.
func eventsByGet(s *store, from, to uint64) (evs []Event, err error) {
	to = min(to, s.Len())
	for seq := from; seq < to; seq++ {
		e, err := s.get(seq)
		if err != nil {
			return evs, err
		}
		evs = append(evs, e)
	}
	return evs, nil
}

func collect(s *store, from, to uint64) (evs []Event, err error) {
	for e, err := range s.Events(from, to) {
		if err != nil {
			return evs, err
		}
		evs = append(evs, e)
	}
	return evs, nil
}

// TestEventsReadInSpans: Events, which reads spans of records at once,
// yields what Get yields event by event — over ranges that cross span
// bounds and checkpoint records, and up to a damaged record, where it
// fails with Get's error.
func TestEventsReadInSpans(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(t)
	opts.CheckpointEvery = 70 // checkpoint records between events
	l := openLog(t, dir, opts)
	defer closeLog(t, l)
	appendN(t, l, 2*spanEvents+50)
	n := l.Len()
	for _, r := range [][2]uint64{{0, n}, {0, n + 10}, {1, spanEvents + 1}, {spanEvents - 1, spanEvents + 2}, {n - 1, n}, {5, 5}, {n, n + 3}} {
		got, gerr := collect(l.store, r[0], r[1])
		want, werr := eventsByGet(l.store, r[0], r[1])
		if gerr != nil || werr != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Events(%d, %d): %d events, %v; Get: %d, %v", r[0], r[1], len(got), gerr, len(want), werr)
		}
	}
	// A damaged record in the middle of a span.
	var ent [indexWidth]byte
	if err := l.store.index.read(spanEvents+7, ent[:]); err != nil {
		t.Fatal(err)
	}
	off := int64(binary.LittleEndian.Uint32(ent[4:]))
	size := int64(binary.LittleEndian.Uint32(ent[8:]))
	flipByte(t, lastSegment(t, dir), off+size-6) // in the hashes: only the frame's checksum sees it
	got, gerr := collect(l.store, 0, n)
	want, werr := eventsByGet(l.store, 0, n)
	if gerr == nil || fmt.Sprint(gerr) != fmt.Sprint(werr) || !reflect.DeepEqual(got, want) || len(got) != spanEvents+7 {
		t.Fatalf("over a damaged record: %d events, %v; Get: %d, %v", len(got), gerr, len(want), werr)
	}
}
