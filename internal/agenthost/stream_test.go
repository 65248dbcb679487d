package agenthost

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"testing/synctest"

	"github.com/weftos/weftos/internal/apitype"
)

// TestStreamBackpressure: a run that sends many more deltas than the
// stream buffers waits for its client instead of dropping any (the old
// bounded buffer of 1,024 deltas dropped the rest and the run went on);
// the client gets every delta, in order. A client that goes away ends the
// wait with ErrClientGone.
func TestStreamBackpressure(t *testing.T) {
	const n = 5000
	synctest.Test(t, func(t *testing.T) {
		s := newStream()
		sent := make(chan error, 1)
		go func() {
			for i := range n {
				if err := s.send(context.Background(), apitype.RunEvent{Type: apitype.RunDelta, Text: strconv.Itoa(i)}); err != nil {
					sent <- err
					return
				}
			}
			sent <- nil
		}()
		synctest.Wait() // the sender is blocked on a full buffer, not done
		select {
		case err := <-sent:
			t.Fatalf("the sender finished (%v) with no client reading: events were dropped", err)
		default:
		}
		if got := len(s.Events()); got != cap(s.Events()) {
			t.Fatalf("%d events buffered while the sender waits; want the buffer full (%d)", got, cap(s.Events()))
		}
		for i := range n {
			ev := <-s.Events()
			if ev.Text != strconv.Itoa(i) {
				t.Fatalf("event %d is %q: lost or reordered", i, ev.Text)
			}
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}

		// A client gone: the waiting sender is released with ErrClientGone.
		go func() {
			for {
				if err := s.send(context.Background(), apitype.RunEvent{Type: apitype.RunDelta}); err != nil {
					sent <- err
					return
				}
			}
		}()
		synctest.Wait()
		s.Close()
		if err := <-sent; !errors.Is(err, ErrClientGone) {
			t.Fatalf("send after the client went away: %v; want ErrClientGone", err)
		}
	})
}
