package authority

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftos/weftos/internal/governance"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memLedger is an in-memory Ledger that can be made to fail.
type memLedger struct {
	mu      sync.Mutex
	kinds   []string
	records []json.RawMessage
	failAt  int   // fail appends from this index on (0: never)
	failErr error // what to fail with
	batches int   // appends (each one fsync on a real chain)
}

func (l *memLedger) Append(ctx context.Context, recs ...Record) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failAt > 0 && len(l.kinds)+len(recs) >= l.failAt {
		err := l.failErr
		if err == nil {
			err = errors.New("disk on fire")
		}
		return 0, err
	}
	for _, r := range recs {
		b, err := json.Marshal(r.Payload)
		if err != nil {
			return 0, err
		}
		l.kinds = append(l.kinds, r.Kind)
		l.records = append(l.records, b)
	}
	l.batches++
	return uint64(len(l.kinds) - 1), nil
}

func (l *memLedger) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.kinds)
}

type fixture struct {
	p        *Pipeline
	ledger   *memLedger
	pending  *governance.Pending
	failed   atomic.Int32
	deferred chan string // action ids, as they are deferred
}

// nextDeferred waits (with a deadline) for the next deferred act.
func (f *fixture) nextDeferred(t *testing.T) string {
	t.Helper()
	select {
	case id := <-f.deferred:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("nothing was deferred")
		return ""
	}
}

func newFixture(t *testing.T, env string) *fixture {
	t.Helper()
	c, err := governance.DefaultConstitution()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := governance.NewEngine(c, env)
	if err != nil {
		t.Fatal(err)
	}
	gate, err := governance.NewGate(eng, governance.GateConfig{Workspace: []string{"/ws"}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ledger: &memLedger{}, pending: governance.NewPending(governance.PendingConfig{}), deferred: make(chan string, 8)}
	var n atomic.Uint64
	f.p, err = New(Options{Ledger: f.ledger, Gate: gate, Approvals: f.pending, DeferTimeout: time.Minute,
		NewActionID:     func() string { return fmt.Sprintf("a%d", n.Add(1)) },
		OnLedgerFailure: func(error) { f.failed.Add(1) },
		OnDefer:         func(_ context.Context, id string, _ governance.Request, _ governance.Decision) { f.deferred <- id }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.pending.Close(context.Background()) })
	return f
}

var agent = Subject{Agent: "alice", PID: 7, Caps: []string{"can_exec_tools", "can_ipc"}, Session: "s"}

// TestPermitOrder: decision durable before the act, outcome after it.
func TestPermitOrder(t *testing.T) {
	f := newFixture(t, "dev")
	var atAct []string
	err := f.p.Do(context.Background(), Act{Action: "fs.read", Kind: governance.KindToolCall, Subject: agent,
		Context: governance.Context{Path: "/ws/a", Tool: "read_file"}},
		func(ctx context.Context, pm *Permit) (any, error) {
			atAct = f.ledger.snapshot()
			if pm.ActionID() == "" {
				t.Error("no action id")
			}
			return governance.ToolCallDetail{Tool: "read_file", InputHash: "00"}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(atAct, []string{governance.KindDecision}) {
		t.Fatalf("when the act ran the ledger held %v", atAct)
	}
	if got := f.ledger.snapshot(); !slices.Equal(got, []string{governance.KindDecision, governance.KindToolCall}) {
		t.Fatalf("ledger %v", got)
	}
	in, err := governance.DecodeAuditInput(1, governance.KindToolCall, f.ledger.records[1])
	if err != nil || in.Action.ActionID != "a1" || in.Action.Action != "fs.read" || in.Action.Agent != "alice" {
		t.Fatalf("outcome %+v %v", in, err)
	}
}

// TestRefusals: a failing check, a denial and a rejected deferral are all
// on the ledger, and the act never runs.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    string
		act    Act
		reject bool
		want   error
		kinds  []string
	}{
		{name: "capability", env: "dev", want: ErrCapability, kinds: []string{governance.KindRefusal},
			act: Act{Action: "llm.call", Subject: agent, Checks: []Check{func() error { return fmt.Errorf("%w: no can_network", ErrCapability) }}}},
		{name: "limit", env: "dev", want: ErrLimit, kinds: []string{governance.KindRefusal},
			act: Act{Action: "fs.read", Subject: agent, Checks: []Check{func() error { return fmt.Errorf("%w: 10 tool calls", ErrLimit) }}}},
		{name: "denied", env: "dev", want: ErrDenied, kinds: []string{governance.KindDecision},
			act: Act{Action: "tool.shell.bash", Subject: agent}},
		{name: "rejected", env: "prod", reject: true, want: ErrDenied, kinds: []string{governance.KindDecision, governance.KindResolution},
			act: Act{Action: "agent.definition", Subject: agent}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.env)
			if tc.reject {
				go func() { _ = f.pending.Reject(<-f.deferred, "bob", "no") }()
			}
			ran := false
			err := f.p.Do(context.Background(), tc.act, func(context.Context, *Permit) (any, error) { ran = true; return nil, nil })
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrRefused) || ran {
				t.Fatalf("err %v (want %v), ran %v", err, tc.want, ran)
			}
			if got := f.ledger.snapshot(); !slices.Equal(got, tc.kinds) {
				t.Fatalf("ledger %v, want %v", got, tc.kinds)
			}
		})
	}
}

// TestDeferApproved: the approval is recorded before the act runs.
func TestDeferApproved(t *testing.T) {
	f := newFixture(t, "dev")
	done := make(chan error, 1)
	var atAct []string
	go func() {
		done <- f.p.Do(context.Background(), Act{Action: "agent.definition", Kind: governance.KindAgentDefine, Subject: agent},
			func(context.Context, *Permit) (any, error) {
				atAct = f.ledger.snapshot()
				return governance.AgentDefinitionDetail{Definition: "x"}, nil
			})
	}()
	if err := f.pending.Approve(f.nextDeferred(t), "bob"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(atAct, []string{governance.KindDecision, governance.KindResolution}) {
		t.Fatalf("at the act: %v", atAct)
	}
}

// TestRequesterGone: a deferred act whose requester goes away is rejected
// and recorded, never left approvable.
func TestRequesterGone(t *testing.T) {
	f := newFixture(t, "dev")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- f.p.Do(ctx, Act{Action: "agent.definition", Subject: agent}, func(context.Context, *Permit) (any, error) { return nil, nil })
	}()
	id := f.nextDeferred(t)
	cancel()
	if err := <-done; !errors.Is(err, ErrDenied) {
		t.Fatalf("err %v", err)
	}
	if err := f.pending.Approve(id, "late"); err == nil {
		t.Fatal("approved after the requester left")
	}
	if got := f.ledger.snapshot(); !slices.Equal(got, []string{governance.KindDecision, governance.KindResolution}) {
		t.Fatalf("ledger %v", got)
	}
}

// TestLedgerFailureFailsClosed: when the ledger cannot be written the act
// is denied, the pipeline turns unhealthy and every later act is refused
// without reaching governance.
func TestLedgerFailureFailsClosed(t *testing.T) {
	f := newFixture(t, "dev")
	f.ledger.failAt = 1
	ran := false
	err := f.p.Do(context.Background(), Act{Action: "fs.read", Subject: agent}, func(context.Context, *Permit) (any, error) { ran = true; return nil, nil })
	if !errors.Is(err, ErrLedger) || ran {
		t.Fatalf("err %v ran %v", err, ran)
	}
	if f.p.Healthy() == nil || f.failed.Load() != 1 {
		t.Fatalf("healthy %v, failure callbacks %d", f.p.Healthy(), f.failed.Load())
	}
	f.ledger.failAt = 0 // even if the disk recovers, the node stays closed
	if _, err := f.p.Authorize(context.Background(), Act{Action: "fs.read", Subject: agent}); !errors.Is(err, ErrLedger) {
		t.Fatalf("second act: %v", err)
	}
	if n := len(f.ledger.snapshot()); n != 0 {
		t.Fatalf("%d records written after the failure", n)
	}
	if f.p.Stats().Failed.Load() != 2 || f.failed.Load() != 1 {
		t.Fatalf("stats %d, callbacks %d", f.p.Stats().Failed.Load(), f.failed.Load())
	}
}

// TestOutcomeFailure: an act whose outcome cannot be recorded reports the
// failure, so its result is not used.
func TestOutcomeFailure(t *testing.T) {
	f := newFixture(t, "dev")
	f.ledger.failAt = 2
	err := f.p.Do(context.Background(), Act{Action: "fs.read", Kind: governance.KindToolCall, Subject: agent},
		func(context.Context, *Permit) (any, error) { return governance.ToolCallDetail{Tool: "t"}, nil })
	if !errors.Is(err, ErrLedger) || f.p.Healthy() == nil {
		t.Fatalf("err %v", err)
	}
}

// TestBadRecord: a record the ledger rejects refuses that act only.
func TestBadRecord(t *testing.T) {
	f := newFixture(t, "dev")
	f.ledger.failAt, f.ledger.failErr = 1, fmt.Errorf("%w: too large", ErrBadRecord)
	if _, err := f.p.Authorize(context.Background(), Act{Action: "fs.read", Subject: agent}); !errors.Is(err, ErrRefused) || errors.Is(err, ErrLedger) {
		t.Fatalf("err %v", err)
	}
	if err := f.p.Healthy(); err != nil {
		t.Fatalf("a bad record failed the pipeline: %v", err)
	}
}

// TestHealthProbe: a failure the ledger reports itself fails the pipeline.
func TestHealthProbe(t *testing.T) {
	f := newFixture(t, "dev")
	var bad atomic.Bool
	f.p.opts.Health = func() error {
		if bad.Load() {
			return errors.New("fsync failed")
		}
		return nil
	}
	if _, err := f.p.Authorize(context.Background(), Act{Action: "fs.read", Subject: agent}); err != nil {
		t.Fatal(err)
	}
	bad.Store(true)
	if _, err := f.p.Authorize(context.Background(), Act{Action: "fs.read", Subject: agent}); !errors.Is(err, ErrLedger) {
		t.Fatalf("err %v", err)
	}
}

// TestCarry: outcomes carried with Later go to the ledger in the same batch
// as the subject's next decision (ahead of it) or when flushed — one
// append for both.
func TestCarry(t *testing.T) {
	f := newFixture(t, "dev")
	carry := f.p.NewCarry()
	act := Act{Action: "memory.search", Kind: governance.KindMemorySearch, Subject: agent, Carry: carry}
	pm, err := f.p.Authorize(context.Background(), act)
	if err != nil {
		t.Fatal(err)
	}
	if err := pm.Later(context.Background(), governance.MemoryDetail{K: 3}, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.ledger.snapshot(); !slices.Equal(got, []string{governance.KindDecision}) {
		t.Fatalf("carried outcome written early: %v", got)
	}
	batches := f.ledger.batches
	pm2, err := f.p.Authorize(context.Background(), Act{Action: "llm.call", Kind: governance.KindLLMCall, Subject: agent, Carry: carry})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.ledger.snapshot(); !slices.Equal(got, []string{governance.KindDecision, governance.KindMemorySearch, governance.KindDecision}) ||
		f.ledger.batches != batches+1 {
		t.Fatalf("ledger %v in %d batches", got, f.ledger.batches-batches)
	}
	if err := pm2.Later(context.Background(), governance.LLMCallDetail{Provider: "p"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := carry.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.ledger.snapshot(); got[len(got)-1] != governance.KindLLMCall {
		t.Fatalf("flush: %v", got)
	}
	// A refusal takes the carry along too.
	pm3, _ := f.p.Authorize(context.Background(), Act{Action: "memory.search", Kind: governance.KindMemorySearch, Subject: agent, Carry: carry})
	_ = pm3.Later(context.Background(), nil, nil)
	_ = f.p.Refuse(context.Background(), Act{Action: "fs.read", Subject: agent, Carry: carry}, fmt.Errorf("%w: bad path", ErrInput))
	got := f.ledger.snapshot()
	if !slices.Equal(got[len(got)-2:], []string{governance.KindMemorySearch, governance.KindRefusal}) {
		t.Fatalf("refusal with carry: %v", got)
	}
	auditLedger(t, f.ledger)
}

// auditLedger runs the ledger's records through the auditor's decoder and
// pairing: every act has its decision.
func auditLedger(t *testing.T, l *memLedger) {
	t.Helper()
	decided := map[string]bool{}
	for i, k := range l.kinds {
		in, err := governance.DecodeAuditInput(uint64(i), k, l.records[i])
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case in.Decision != nil:
			decided[in.Decision.ActionID] = true
		case in.Action != nil && !decided[in.Action.ActionID]:
			t.Fatalf("record %d (%s) before its decision", i, k)
		}
	}
}

// TestInternalRead: an Internal act is decided before it runs, but its
// decision and outcome are written with the subject's next decision — one
// batch, decision before outcome before the next decision.
func TestInternalRead(t *testing.T) {
	f := newFixture(t, "dev")
	carry := f.p.NewCarry()
	pm, err := f.p.Authorize(context.Background(), Act{Action: "memory.search", Kind: governance.KindMemorySearch, Subject: agent, Carry: carry, Internal: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.ledger.snapshot()); n != 0 {
		t.Fatalf("%d records written for an internal read", n)
	}
	_ = pm.Later(context.Background(), governance.MemoryDetail{K: 1}, nil)
	if _, err := f.p.Authorize(context.Background(), Act{Action: "llm.call", Subject: agent, Carry: carry}); err != nil {
		t.Fatal(err)
	}
	want := []string{governance.KindDecision, governance.KindMemorySearch, governance.KindDecision}
	if got := f.ledger.snapshot(); !slices.Equal(got, want) || f.ledger.batches != 1 {
		t.Fatalf("ledger %v in %d batches", got, f.ledger.batches)
	}
	auditLedger(t, f.ledger)
	// A denied internal read is still recorded, with the next flush.
	if _, err := f.p.Authorize(context.Background(), Act{Action: "tool.shell.bash", Subject: agent, Carry: carry, Internal: true}); !errors.Is(err, ErrDenied) {
		t.Fatalf("err %v", err)
	}
	if err := carry.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := f.ledger.snapshot(); got[len(got)-1] != governance.KindDecision {
		t.Fatalf("denied internal read not recorded: %v", got)
	}
}
