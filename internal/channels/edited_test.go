package channels

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/clock"
)

// fakeMessenger records posts and edits; fail, when set, answers a call
// (by "post" or "edit") instead of succeeding.
type fakeMessenger struct {
	mu    sync.Mutex
	msgs  []string // by id (index)
	calls []string
	fail  func(op string) error
}

func (m *fakeMessenger) Post(_ context.Context, text string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "post "+text)
	if m.fail != nil {
		if err := m.fail("post"); err != nil {
			return "", err
		}
	}
	m.msgs = append(m.msgs, text)
	return fmt.Sprint(len(m.msgs) - 1), nil
}

func (m *fakeMessenger) Edit(_ context.Context, id, text string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "edit "+id+" "+text)
	if m.fail != nil {
		if err := m.fail("edit"); err != nil {
			return err
		}
	}
	var i int
	if _, err := fmt.Sscan(id, &i); err != nil || i >= len(m.msgs) {
		return fmt.Errorf("no message %q", id)
	}
	m.msgs[i] = text
	return nil
}

var errSlowDown = errors.New("slow down")

func limited(err error) (time.Duration, bool) { return 2 * time.Second, errors.Is(err, errSlowDown) }

func TestEditedAnswerStreamsThenCompletes(t *testing.T) {
	ctx := context.Background()
	fc := clock.NewFake(time.Unix(1000, 0))
	m := &fakeMessenger{}
	a := &EditedAnswer{Messenger: m, Clock: fc, Interval: time.Second, Max: 10}
	steps := []struct {
		advance time.Duration
		soFar   string
		calls   int // total calls after this progress
	}{
		{0, "", 0},                  // nothing to show yet
		{0, "Hel", 1},               // first progress posts
		{0, "Hello", 1},             // within the interval: skipped
		{time.Second, "Hello", 2},   // edited
		{time.Second, "Hello", 2},   // unchanged: no call
		{time.Second, "Hello w", 3}, // edited
	}
	for i, s := range steps {
		fc.Advance(s.advance)
		if err := a.Progress(ctx, s.soFar); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if len(m.calls) != s.calls {
			t.Fatalf("step %d: calls %q", i, m.calls)
		}
	}
	// The final text fills the first message and follows in more.
	if err := a.Send(ctx, "Hello world, how are you"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.msgs, "|"); got != strings.Join(Chunk("Hello world, how are you", 10, nil), "|") || len(m.msgs) != 3 {
		t.Fatalf("messages %q (calls %q)", got, m.calls)
	}
}

func TestEditedAnswerEmptyAndUnstreamed(t *testing.T) {
	m := &fakeMessenger{}
	a := &EditedAnswer{Messenger: m, Clock: clock.NewFake(time.Unix(0, 0)), Interval: time.Second, Max: 100}
	if err := a.Send(context.Background(), "  \n"); err != nil {
		t.Fatal(err)
	}
	if len(m.msgs) != 1 || m.msgs[0] != "(no answer)" || len(m.calls) != 1 {
		t.Fatalf("messages %q calls %q", m.msgs, m.calls)
	}
}

func TestEditedAnswerRateLimits(t *testing.T) {
	ctx := context.Background()
	fc := clock.NewFake(time.Unix(1000, 0))
	refuse := 1
	m := &fakeMessenger{}
	m.fail = func(op string) error {
		if refuse > 0 {
			refuse--
			return errSlowDown
		}
		return nil
	}
	a := &EditedAnswer{Messenger: m, Clock: fc, Interval: time.Second, Max: 100, RateLimited: limited, FinalRetries: 2}
	// A rate-limited progress is skipped, not an error, and the next one
	// waits for the time asked.
	if err := a.Progress(ctx, "par"); err != nil {
		t.Fatalf("rate-limited progress: %v", err)
	}
	fc.Advance(time.Second)
	if err := a.Progress(ctx, "partial"); err != nil || len(m.calls) != 1 {
		t.Fatalf("progress within the asked wait: %v, calls %q", err, m.calls)
	}
	fc.Advance(time.Second)
	if err := a.Progress(ctx, "partial"); err != nil || len(m.msgs) != 1 {
		t.Fatalf("progress after the wait: %v, messages %q", err, m.msgs)
	}
	// The final edit is refused once, waited out on the clock and retried.
	refuse = 1
	done := make(chan error, 1)
	go func() { done <- a.Send(ctx, "partial answer") }()
	deadline := time.Now().Add(10 * time.Second)
	for fc.Pending() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the final edit did not wait")
		}
		time.Sleep(time.Millisecond)
	}
	fc.Advance(2 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(m.msgs) != 1 || m.msgs[0] != "partial answer" {
		t.Fatalf("messages %q calls %q", m.msgs, m.calls)
	}
	// Beyond FinalRetries the error is returned.
	refuse = 10
	b := &EditedAnswer{Messenger: m, Clock: fc, Interval: time.Second, Max: 100, RateLimited: limited}
	if err := b.Send(ctx, "x"); !errors.Is(err, errSlowDown) {
		t.Fatalf("Send without retries: %v", err)
	}
	// Other errors are returned at once, by progress too.
	m.fail = func(string) error { return errors.New("gone") }
	c := &EditedAnswer{Messenger: m, Clock: fc, Interval: time.Second, Max: 100, RateLimited: limited, FinalRetries: 3}
	if err := c.Progress(ctx, "y"); err == nil || err.Error() != "gone" {
		t.Fatalf("progress error: %v", err)
	}
	if err := c.Send(ctx, "y"); err == nil || err.Error() != "gone" {
		t.Fatalf("send error: %v", err)
	}
}
