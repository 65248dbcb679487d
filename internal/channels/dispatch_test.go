package channels

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/config"
	"github.com/weftos/weftos/internal/governance"
)

// memLedger keeps records in memory.
type memLedger struct {
	mu   sync.Mutex
	recs []authority.Record
}

func (l *memLedger) Append(_ context.Context, recs ...authority.Record) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, recs...)
	return uint64(len(l.recs)), nil
}

func (l *memLedger) kinds() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, r := range l.recs {
		out[r.Kind]++
	}
	return out
}

// gate permits everything except what deny names.
type gate struct{ deny string }

func (g gate) Check(_ context.Context, r *governance.Request) governance.Decision {
	if r.Action == g.deny {
		return governance.Decision{Outcome: governance.Deny, Reason: "test"}
	}
	return governance.Decision{Outcome: governance.Permit}
}

// echo runs "agent turns" that answer with the message.
type echo struct {
	mu   sync.Mutex
	reqs []apitype.RunRequest
	fail string
}

func (e *echo) Run(_ context.Context, req apitype.RunRequest, emit func(apitype.RunEvent) error) error {
	e.mu.Lock()
	e.reqs = append(e.reqs, req)
	fail := e.fail
	e.mu.Unlock()
	_ = emit(apitype.RunEvent{Type: apitype.RunStart, PID: 1})
	if fail != "" {
		return emit(apitype.RunEvent{Type: apitype.RunError, Code: fail, Message: "failed"})
	}
	_ = emit(apitype.RunEvent{Type: apitype.RunDelta, Turn: 1, Text: "echo"})
	return emit(apitype.RunEvent{Type: apitype.RunFinal, Answer: "echo"})
}

type sink struct{ sent []string }

func (s *sink) Send(_ context.Context, text string) error {
	s.sent = append(s.sent, text)
	return nil
}

func newDispatcher(t *testing.T, deny string) (*Dispatcher, *echo, *memLedger) {
	t.Helper()
	led := &memLedger{}
	n := 0
	auth, err := authority.New(authority.Options{Ledger: led, Gate: gate{deny}, NewActionID: func() string { n++; return "a" + string(rune('0'+n%10)) }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := OpenPairing(filepath.Join(t.TempDir(), "pairing.json"))
	if err != nil {
		t.Fatal(err)
	}
	run := &echo{}
	chans := []config.Channel{{Name: "tg", Kind: "telegram", Groups: []string{"g1"}, Owners: []string{"1"}}}
	d := &Dispatcher{Hub: &Hub{Auth: auth, Runner: run, Workspace: "/ws"}, Pairing: p, Router: NewRouter(nil, chans), Channels: chans,
		Senders: NewLimiter(60, 2), Clock: clock.NewFake(time.Unix(1_800_000_000, 0))}
	return d, run, led
}

func TestDispatcher(t *testing.T) {
	d, run, led := newDispatcher(t, "")
	ctx := context.Background()
	dm := Inbound{Channel: "tg", Sender: "7", Chat: "7", Text: "please help me"}
	var s sink
	d.Handle(ctx, dm, &s)
	if len(s.sent) != 1 || !strings.Contains(s.sent[0], "pairing code") || len(run.reqs) != 0 {
		t.Fatalf("stranger: %q, runs %d", s.sent, len(run.reqs))
	}
	d.Handle(ctx, dm, &s)
	d.Handle(ctx, dm, &s) // over the stranger's limit: nothing
	if len(s.sent) != 2 || s.sent[1] != s.sent[0] {
		t.Fatalf("a stranger's repeats: %q", s.sent)
	}
	d.Clock.(*clock.Fake).Advance(time.Minute) // the bucket refills
	pend, _ := d.Pairing.List(d.Clock.Now())
	if _, err := d.Pairing.Resolve(pend[0].Code, true, d.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	s.sent = nil
	d.Handle(ctx, dm, &s)
	if len(s.sent) != 1 || s.sent[0] != "echo" {
		t.Fatalf("paired: %q", s.sent)
	}
	req := run.reqs[0]
	if req.Session != "ch.tg.7" || req.Agent != DefaultAgent || !strings.Contains(req.Message, "<untrusted>") {
		t.Fatalf("run request %+v", req)
	}
	// Groups: only allowlisted ones, only when mentioned; DM approval
	// grants nothing there.
	s.sent = nil
	for _, in := range []Inbound{
		{Channel: "tg", Sender: "7", Chat: "g2", Group: "g2", Mentioned: true, Text: "hi"},
		{Channel: "tg", Sender: "8", Chat: "g1", Group: "g1", Text: "hi"},
		{Channel: "nope", Sender: "7", Chat: "7", Text: "hi"},
	} {
		d.Handle(ctx, in, &s)
	}
	if len(s.sent) != 0 {
		t.Fatalf("answered %q", s.sent)
	}
	d.Handle(ctx, Inbound{Channel: "tg", Sender: "8", Chat: "g1", Group: "g1", Mentioned: true, Text: "what now, bot?"}, &s)
	if len(s.sent) != 1 || run.reqs[len(run.reqs)-1].Session != "ch.tg.gg1" {
		t.Fatalf("group: %q %+v", s.sent, run.reqs)
	}
	// The sender's burst (2) is spent by two messages: a third gets nothing.
	s.sent = nil
	d.Handle(ctx, dm, &s)
	d.Handle(ctx, dm, &s)
	if len(s.sent) != 1 {
		t.Fatalf("over the limit: %q", s.sent)
	}
	if k := led.kinds(); k[governance.KindChannelMessage] != 3 || k[governance.KindPairingRequest] != 1 || k[governance.KindDecision] != 3 {
		t.Fatalf("records %v", k)
	}
	st := d.counts
	if r, a, f := st("tg"); r != 9 || a != 3 || f != 6 {
		t.Fatalf("counts %d %d %d", r, a, f)
	}
}

func TestOwners(t *testing.T) {
	d, run, _ := newDispatcher(t, "")
	var s sink
	d.Handle(context.Background(), Inbound{Channel: "tg", Sender: "1", Chat: "1", Text: "it is me"}, &s)
	if len(s.sent) != 1 || s.sent[0] != "echo" || run.reqs[0].Session != "own.tg.1" || !strings.Contains(run.reqs[0].Message, "<untrusted>") {
		t.Fatalf("owner: %q %+v", s.sent, run.reqs)
	}
}

func TestExchangeFailures(t *testing.T) {
	d, run, led := newDispatcher(t, "channel.message")
	ctx := context.Background()
	m := Message{Channel: "openai", Sender: "tok", Agent: "default", Session: "oai.x", Text: "hi there friend"}
	if _, err := d.Hub.Exchange(ctx, m, nil); !errors.Is(err, authority.ErrDenied) || len(run.reqs) != 0 {
		t.Fatalf("denied: %v (runs %d)", err, len(run.reqs))
	}
	if got := failureText(authority.ErrDenied); !strings.Contains(got, "refused") {
		t.Fatalf("failure text %q", got)
	}
	d, run, led = newDispatcher(t, "")
	m.Session = "../etc"
	if _, err := d.Hub.Exchange(ctx, m, nil); !errors.Is(err, authority.ErrInput) || led.kinds()[governance.KindRefusal] != 1 {
		t.Fatalf("bad session: %v %v", err, led.kinds())
	}
	run.fail = "max_turns"
	m.Session = "oai.x"
	_, err := d.Hub.Exchange(ctx, m, nil)
	var re *RunError
	if !errors.As(err, &re) || re.Code != "max_turns" || failureText(err) != "Sorry, the agent could not answer (max_turns)." {
		t.Fatalf("run error: %v", err)
	}
	// The failed run's outcome is recorded too.
	if led.kinds()[governance.KindChannelMessage] != 1 {
		t.Fatalf("records %v", led.kinds())
	}
}

func TestSafeID(t *testing.T) {
	for s, keep := range map[string]bool{"ann": true, "ann@example.com": true, "U123": true, "a b": false, "x\ny": false, strings.Repeat("a", 65): false, "": false} {
		got := SafeID(s)
		if (got == s) != keep || !safeIDRE.MatchString(got) {
			t.Errorf("SafeID(%q) = %q", s, got)
		}
	}
}

func TestSessionName(t *testing.T) {
	for _, c := range []struct {
		parts []string
		want  string
	}{
		{[]string{"tg", "123"}, "ch.tg.123"},
		{[]string{"tg", "-100123"}, "ch.tg.-100123"},
	} {
		if got := SessionName("ch", c.parts...); got != c.want {
			t.Errorf("%v: %s", c.parts, got)
		}
	}
	odd := SessionName("oai", "tok", "ann@example.com")
	if !ValidSession(odd) || odd == SessionName("oai", "tok", "bob@example.com") {
		t.Fatalf("hashed parts: %s", odd)
	}
	if long := SessionName("x", strings.Repeat("a", 24), strings.Repeat("b", 24), strings.Repeat("c", 24)); !ValidSession(long) {
		t.Fatalf("long: %s", long)
	}
}
