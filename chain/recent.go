package chain

import "fmt"

// recentEvents keeps the events a writable log acknowledged last, in
// memory, so that a reader trailing the head (the daemon's cross-reference
// indexer and cognitive layer, a few milliseconds behind) takes them
// without reading the segments back and decoding them. It is bounded by
// count and by payload bytes; what it no longer holds is read from the
// files as before. The events are those the appenders got back: their
// payload bytes are shared and must not be modified. Guarded by store.mu.
type recentEvents struct {
	// Bounds: maxRecent and maxRecentBytes when zero (tests set less).
	limit, limitBytes int

	ring  []Event // capacity limit once used
	first uint64  // seq of the oldest event held
	head  int     // index of the oldest event in ring
	n     int     // events held
	bytes int     // their payload bytes
}

// Bounds of the recent window: enough for an indexer a few group commits
// behind at thousands of events a second, small next to the daemon.
const (
	maxRecent      = 4096
	maxRecentBytes = 8 << 20
)

// add appends e, which must follow the newest event held (a gap empties
// the window first).
func (w *recentEvents) add(e *Event) {
	if w.n > 0 && e.Seq != w.first+uint64(w.n) {
		w.reset()
	}
	if w.ring == nil {
		if w.limit <= 0 {
			w.limit, w.limitBytes = maxRecent, maxRecentBytes
		}
		w.ring = make([]Event, w.limit)
	}
	for w.n > 0 && (w.n == len(w.ring) || w.bytes+len(e.Payload) > w.limitBytes) {
		w.drop()
	}
	if w.n == 0 {
		w.first, w.head = e.Seq, 0
	}
	w.ring[(w.head+w.n)%len(w.ring)] = *e
	w.n++
	w.bytes += len(e.Payload)
}

// drop forgets the oldest event held.
func (w *recentEvents) drop() {
	w.bytes -= len(w.ring[w.head].Payload)
	w.ring[w.head] = Event{}
	w.head = (w.head + 1) % len(w.ring)
	w.first++
	w.n--
}

func (w *recentEvents) reset() {
	clear(w.ring)
	*w = recentEvents{ring: w.ring, limit: w.limit, limitBytes: w.limitBytes}
}

// appendRange appends the events from <= seq < to to dst if the window
// holds all of them.
func (w *recentEvents) appendRange(dst []Event, from, to uint64) ([]Event, bool) {
	if from < w.first || to > w.first+uint64(w.n) || from > to {
		return dst, false
	}
	for seq := from; seq < to; seq++ {
		dst = append(dst, w.ring[(w.head+int(seq-w.first))%len(w.ring)])
	}
	return dst, true
}

// AppendEvents appends the events with from <= seq < to (to clamped to
// the current length) to dst and returns it. Events acknowledged
// recently come from memory (their payload bytes are shared: do not
// modify them); older ones are read from the segments.
func (s *store) AppendEvents(dst []Event, from, to uint64) ([]Event, error) {
	s.mu.RLock()
	to = min(to, s.size)
	s.mu.RUnlock()
	if from >= to {
		return dst, nil
	}
	start, want := len(dst), to-from
	for from < to {
		s.mu.RLock()
		out, ok := s.recent.appendRange(dst, from, to)
		first, held := s.recent.first, s.recent.n > 0
		s.mu.RUnlock()
		if ok {
			return out, nil
		}
		// What the window no longer holds (a reader that fell behind)
		// comes from the files, up to where the window starts.
		mid := to
		if held && first > from && first < to {
			mid = first
		}
		n := len(dst)
		for e, err := range s.Events(from, mid) {
			if err != nil {
				return dst, err
			}
			dst = append(dst, e)
		}
		if uint64(len(dst)-n) < mid-from {
			break
		}
		from = mid
	}
	if n := uint64(len(dst) - start); n < want {
		return dst, fmt.Errorf("%w: events %d..%d: read %d", ErrNotFound, to-want, to, n)
	}
	return dst, nil
}
