// Package authority is WeftOS's one path for privileged acts. Every act —
// an agent's tool call, a model call, a memory store, a WASM tool run, an
// operator's process kill — goes through the same steps:
//
//	describe → capability checks → governance decision → durable record
//	of the decision → act → durable record of the outcome
//
// A refusal at any step is recorded too (a governance.refusal or a
// governance.decision that denies). Records are acknowledged only once the
// ledger (the audit chain) has them on disk: if the ledger cannot be
// written, the act is denied and the pipeline reports itself unhealthy, so
// the node fails closed. Deferred acts wait for a human (or their deadline)
// and the resolution is recorded before the act goes ahead.
//
// The package owns no goroutines. It sees governance through the Gate and
// Approvals interfaces and the chain through Ledger; the composition root
// (internal/daemon) wires the real ones.
package authority

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/jcs"
)

// Errors an act can end with. Every refusal wraps ErrRefused; the more
// specific sentinels say why.
var (
	// ErrRefused is wrapped by every refusal.
	ErrRefused = errors.New("refused")
	// ErrDenied: governance denied the act (or a human rejected it, or its
	// approval deadline passed).
	ErrDenied = fmt.Errorf("%w by governance", ErrRefused)
	// ErrCapability: the subject lacks a capability the act needs.
	ErrCapability = fmt.Errorf("%w: missing capability", ErrRefused)
	// ErrLimit: a resource limit is exhausted.
	ErrLimit = fmt.Errorf("%w: limit reached", ErrRefused)
	// ErrInput: the act could not be described (bad input).
	ErrInput = fmt.Errorf("%w: invalid request", ErrRefused)
	// ErrConflict: the act conflicts with the current state.
	ErrConflict = fmt.Errorf("%w: conflicting state", ErrRefused)
	// ErrLedger: the audit chain cannot be written, so nothing privileged
	// may happen (fail closed).
	ErrLedger = fmt.Errorf("%w: the audit chain cannot be written", ErrRefused)
	// ErrBadRecord is returned by a Ledger that rejects one record as
	// invalid (too large, unregistered kind): the act is refused, but the
	// ledger itself is healthy.
	ErrBadRecord = errors.New("authority: record rejected by the ledger")
)

// Record is one ledger entry.
type Record struct {
	Source, Kind string
	Payload      any
}

// Ledger durably appends records, in order, and returns the sequence
// number of the last once all are on disk (one group commit: a batch costs
// one fsync). chain.Log, through a thin adapter, implements it.
type Ledger interface {
	//
	// The records are the ledger's once it is called; the slice holding
	// them is not (the pipeline reuses it when Append returns).
	Append(ctx context.Context, recs ...Record) (last uint64, err error)
}

// Gate decides a request. *governance.Gate implements it.
type Gate interface {
	Check(ctx context.Context, req *governance.Request) governance.Decision
}

// Approvals holds deferred acts until a human decides. *governance.Pending
// implements it.
type Approvals interface {
	Defer(ctx context.Context, id string, req governance.Request, d governance.Decision, deadline time.Time) (string, <-chan governance.Resolution, error)
	Wait(ctx context.Context, id string) (governance.Resolution, error)
	Reject(id, by, reason string) error
}

var (
	_ Gate      = (*governance.Gate)(nil)
	_ Approvals = (*governance.Pending)(nil)
)

// Subject is who acts: an agent process or the operator.
type Subject struct {
	Agent   string   // name governance sees (process name, or "operator")
	Process string   // process name; defaults to Agent
	PID     uint64   // 0 for the operator / kernel
	Caps    []string // capability names, for governance conditions
	Session string   // the agent session, when there is one
}

// Operator is the subject of acts the node's operator asks for through the
// local API: the kernel's capabilities and gov.amend.
func Operator(caps []string) Subject {
	return Subject{Agent: "operator", Process: "kernel", Caps: caps}
}

// Check is a precondition of an act, evaluated in order before governance.
// A failing check refuses the act; its error should wrap ErrCapability,
// ErrLimit, ErrInput or ErrConflict so the refusal stage is right.
type Check func() error

// Act describes a privileged act.
type Act struct {
	// Action is the governance action name, e.g. "fs.write", "llm.call".
	Action string
	// Kind is the chain kind of the outcome record (see governance's kind
	// registry); empty for acts whose outcome another layer records (the
	// kernel's gated operations).
	Kind string
	// Source is the chain source of the outcome record ("agent", "tools",
	// "memory", "operator"…).
	Source  string
	Subject Subject
	Context governance.Context
	// Gate overrides the pipeline's gate (an agent's workspace gate).
	Gate Gate
	// ActionID is used when the caller already has one (the kernel assigns
	// its own); empty means a fresh one.
	ActionID string
	// Checks run before governance.
	Checks []Check
	// DeferTimeout overrides how long a deferred act waits for a human.
	DeferTimeout time.Duration
	// Carry, when set, holds outcomes of the subject's earlier acts that
	// are still to be written (Permit.Later): they go to the ledger in the
	// same batch as this act's decision or refusal, ahead of it.
	Carry *Carry
	// Internal marks a read whose result can reach nothing outside the
	// node before the subject's next record is written (a memory recall
	// that only feeds the next model call, which is itself decided and
	// recorded first). Its decision is still made before the act, but it
	// is written with that next record, in one batch, instead of costing
	// an fsync of its own. It needs a Carry.
	Internal bool
}

// Carry holds the outcome records of one subject's acts that are written
// with its next record rather than on their own: an act whose result the
// subject uses only to decide what to do next (a model's reply, a memory
// recall) can share its outcome's fsync with the next decision — which is
// durable before anything follows from the result. A Carry must be
// flushed before the subject's results leave the node (the end of an agent
// turn). It is safe for concurrent use.
type Carry struct {
	mu   sync.Mutex
	p    *Pipeline
	recs []Record
	// first holds recs until there are more: an agent turn carries two
	// to four records at a time (a recall's decision and outcome, a model
	// call's outcome).
	first [4]Record
}

// NewCarry returns an empty carry for one subject.
func (p *Pipeline) NewCarry() *Carry {
	c := &Carry{p: p}
	c.recs = c.first[:0]
	return c
}

func (c *Carry) add(r Record) {
	c.mu.Lock()
	c.recs = append(c.recs, r)
	c.mu.Unlock()
}

// takeInto appends the carried records to dst and empties the carry,
// which keeps its array for the subject's next records.
func (c *Carry) takeInto(dst []Record) []Record {
	if c == nil {
		return dst
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	dst = append(dst, c.recs...)
	clear(c.recs) // the payloads are the ledger's now
	c.recs = c.recs[:0]
	return dst
}

// Flush writes the carried outcomes (one batch, one fsync).
func (c *Carry) Flush(ctx context.Context) error {
	b := getBatch()
	defer b.put()
	b.recs = c.takeInto(b.recs)
	if len(b.recs) == 0 {
		return nil
	}
	_, err := c.p.append(noCancel(ctx), b.recs...)
	return err
}

// batch is the records of one ledger append, in a reused array: a
// Ledger does not keep the slice it is given (the records themselves are
// its own).
type batch struct{ recs []Record }

var batches = sync.Pool{New: func() any { return &batch{recs: make([]Record, 0, 8)} }}

func getBatch() *batch { return batches.Get().(*batch) }

func (b *batch) put() {
	clear(b.recs)
	b.recs = b.recs[:0]
	batches.Put(b)
}

// noCancel is ctx without its cancellation (context.WithoutCancel),
// allocating nothing when ctx cannot be cancelled anyway: a record an act
// is committed to is written even if its caller goes away.
func noCancel(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}

// Options configure a Pipeline.
type Options struct {
	Ledger    Ledger
	Gate      Gate
	Approvals Approvals
	// NewActionID returns a fresh, unique action id.
	NewActionID func() string
	// DeferTimeout bounds the wait for a human (default 5 minutes).
	DeferTimeout time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
	// OnDefer, when set, is told about every deferred act (so a client can
	// be shown what it waits for).
	OnDefer func(ctx context.Context, actionID string, req governance.Request, d governance.Decision)
	// OnLedgerFailure is called once when the ledger first fails.
	OnLedgerFailure func(error)
	// Health, when set, reports a ledger failure noticed outside the
	// pipeline (the chain's own write error); non-nil fails the pipeline.
	Health func() error
}

// Pipeline runs acts through the one path. It is safe for concurrent use.
type Pipeline struct {
	opts   Options
	failed atomic.Pointer[error]
	once   sync.Once
	stats  Stats
}

// Stats counts what the pipeline did.
type Stats struct {
	Permitted atomic.Uint64
	Warned    atomic.Uint64
	Deferred  atomic.Uint64
	Denied    atomic.Uint64
	Refused   atomic.Uint64
	Failed    atomic.Uint64 // acts denied because the ledger failed
}

// New returns a pipeline.
func New(opts Options) (*Pipeline, error) {
	if opts.Ledger == nil || opts.Gate == nil || opts.NewActionID == nil {
		return nil, errors.New("authority: a pipeline needs a ledger, a gate and an action id source")
	}
	if opts.DeferTimeout <= 0 {
		opts.DeferTimeout = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{opts: opts}, nil
}

// Stats returns the pipeline's counters.
func (p *Pipeline) Stats() *Stats { return &p.stats }

// Healthy returns nil while the ledger can be written, and the failure
// that made the pipeline refuse every act otherwise.
func (p *Pipeline) Healthy() error {
	if e := p.failed.Load(); e != nil {
		return *e
	}
	if p.opts.Health != nil {
		if err := p.opts.Health(); err != nil {
			p.Fail(err)
			return *p.failed.Load()
		}
	}
	return nil
}

// Fail marks the ledger failed (for a failure noticed elsewhere, such as
// the chain's own write error or a corrupt chain at boot).
func (p *Pipeline) Fail(err error) {
	werr := fmt.Errorf("%w: %w", ErrLedger, err)
	if p.failed.CompareAndSwap(nil, &werr) {
		p.opts.Logger.Error("authority: the audit chain cannot be written; every privileged act is refused", "err", err)
		if p.opts.OnLedgerFailure != nil {
			p.opts.OnLedgerFailure(err)
		}
	}
}

// Permit is an authorized act awaiting its outcome record.
type Permit struct {
	p        *Pipeline
	act      Act
	actionID string
	seq      uint64 // of the decision
	outSeq   uint64 // of the outcome, once recorded
	start    time.Time
	done     bool
}

// ActionID returns the act's action id.
func (pm *Permit) ActionID() string { return pm.actionID }

// DecisionSeq returns the chain sequence number of the decision (0 for an
// Internal act, whose decision is written later).
func (pm *Permit) DecisionSeq() uint64 { return pm.seq }

// OutcomeSeq returns the chain sequence number of the outcome record, once
// Done has written it.
func (pm *Permit) OutcomeSeq() uint64 { return pm.outSeq }

// Request builds the governance request of act.
func (a *Act) request() governance.Request {
	s := a.Subject
	proc := s.Process
	if proc == "" {
		proc = s.Agent
	}
	return governance.Request{Action: a.Action, Process: proc, Agent: s.Agent, PID: s.PID, Capabilities: s.Caps, Context: a.Context}
}

// Authorize runs the checks, asks governance and durably records the
// decision. It returns a Permit once the act may go ahead; the caller acts
// and then calls Permit.Done with the outcome. A refused act returns an
// error wrapping ErrRefused, and the refusal is on the ledger (unless the
// ledger itself failed).
func (p *Pipeline) Authorize(ctx context.Context, act Act) (*Permit, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := p.Healthy(); err != nil {
		p.stats.Failed.Add(1)
		return nil, fmt.Errorf("%s: %w", act.Action, err)
	}
	id := act.ActionID
	if id == "" {
		id = p.opts.NewActionID()
	}
	// One allocation holds the decision record (the ledger's once
	// written) and the permit (the caller's).
	a := &authorized{rec: governance.DecisionRecord{ActionID: id, Request: act.request()}}
	req := &a.rec.Request
	for _, check := range act.Checks {
		if err := check(); err != nil {
			return nil, p.refuse(ctx, id, *req, err, act.Carry.takeInto(nil)...)
		}
	}
	gate := act.Gate
	if gate == nil {
		gate = p.opts.Gate
	}
	d := gate.Check(ctx, req)
	req.Effect = d.Effect
	a.rec.Decision = d
	decision := Record{"governance", governance.KindDecision, &a.rec}
	var seq uint64
	if act.Internal && act.Carry != nil && d.Outcome != governance.Defer {
		act.Carry.add(decision)
	} else {
		b := getBatch()
		b.recs = append(act.Carry.takeInto(b.recs), decision)
		var err error
		seq, err = p.append(ctx, b.recs...)
		b.put()
		if err != nil {
			return nil, err
		}
	}
	switch d.Outcome {
	case governance.Permit:
		p.stats.Permitted.Add(1)
	case governance.PermitWithWarning:
		p.stats.Warned.Add(1)
		p.opts.Logger.Info("governance: permitted with warning", "action", req.Action, "agent", req.Agent, "rules", d.RuleIDs, "reason", d.Reason)
	case governance.Defer:
		p.stats.Deferred.Add(1)
		if err := p.await(ctx, id, *req, d, act.DeferTimeout); err != nil {
			return nil, err
		}
	default:
		p.stats.Denied.Add(1)
		return nil, fmt.Errorf("%w: %s: %s (rules %s)", ErrDenied, req.Action, d.Reason, strings.Join(d.RuleIDs, ","))
	}
	a.Permit = Permit{p: p, act: act, actionID: id, seq: seq, start: p.opts.Now()}
	return &a.Permit, nil
}

// authorized is an authorized act: its permit and its decision record,
// allocated together. The record's payload is a pointer into it, and
// nothing writes the record once it is handed to the ledger.
type authorized struct {
	Permit
	rec governance.DecisionRecord
}

// await holds a deferred act until a human approves or rejects it (or the
// deadline passes), records the resolution, and returns nil if approved.
func (p *Pipeline) await(ctx context.Context, id string, req governance.Request, d governance.Decision, timeout time.Duration) error {
	if p.opts.Approvals == nil {
		p.stats.Denied.Add(1)
		return fmt.Errorf("%w: %s needs approval and no approval queue is configured", ErrDenied, req.Action)
	}
	p.opts.Logger.Info("governance: deferred for approval", "id", id, "action", req.Action, "agent", req.Agent, "reason", d.Reason)
	if timeout <= 0 {
		timeout = p.opts.DeferTimeout
	}
	if _, _, err := p.opts.Approvals.Defer(ctx, id, req, d, p.opts.Now().Add(timeout)); err != nil {
		res := governance.ResolutionRecord{ActionID: id, By: "weave", Reason: "cannot defer: " + err.Error()}
		if _, rerr := p.append(noCancel(ctx), Record{"governance", governance.KindResolution, res}); rerr != nil {
			return rerr
		}
		p.stats.Denied.Add(1)
		return fmt.Errorf("%w: cannot defer %s: %v", ErrDenied, req.Action, err)
	}
	if p.opts.OnDefer != nil {
		p.opts.OnDefer(ctx, id, req, d)
	}
	res, err := p.opts.Approvals.Wait(ctx, id)
	if err != nil {
		// Nobody waits for this act any more: take it off the queue so it
		// cannot be approved after the fact.
		_ = p.opts.Approvals.Reject(id, "weave", "the requester went away: "+err.Error())
		res = governance.Resolution{ID: id, By: "weave", Reason: "the requester went away: " + err.Error()}
	}
	rec := governance.ResolutionRecord{ActionID: id, Approved: res.Approved, Expired: res.Expired, By: res.By, Reason: res.Reason}
	if _, rerr := p.append(noCancel(ctx), Record{"governance", governance.KindResolution, rec}); rerr != nil {
		return rerr
	}
	if err != nil {
		p.stats.Denied.Add(1)
		return fmt.Errorf("%w: %s: waiting for approval: %w", ErrDenied, req.Action, err)
	}
	if !res.Approved {
		why := "rejected by " + res.By
		if res.Reason != "" && res.Reason != "rejected" {
			why += ": " + res.Reason
		}
		if res.Expired {
			why = "not approved before the deadline"
		}
		p.stats.Denied.Add(1)
		return fmt.Errorf("%w: %s deferred and %s", ErrDenied, req.Action, why)
	}
	return nil
}

// refuse records a refusal before governance and returns the error.
func (p *Pipeline) refuse(ctx context.Context, id string, req governance.Request, cause error, carried ...Record) error {
	p.stats.Refused.Add(1)
	stage := Stage(cause)
	rec := governance.RefusalRecord{ActionID: id, Stage: stage, Reason: cause.Error(), Request: req}
	if _, err := p.append(noCancel(ctx), append(carried, Record{"governance", governance.KindRefusal, rec})...); err != nil {
		return errors.Join(cause, err)
	}
	if !errors.Is(cause, ErrRefused) {
		return fmt.Errorf("%w: %w", ErrRefused, cause)
	}
	return cause
}

// Refuse records a refusal of act for a reason found before the pipeline
// could run its checks (an input the caller could not even describe). It
// returns the refusal error.
func (p *Pipeline) Refuse(ctx context.Context, act Act, cause error) error {
	if err := p.Healthy(); err != nil {
		return errors.Join(cause, err)
	}
	id := act.ActionID
	if id == "" {
		id = p.opts.NewActionID()
	}
	return p.refuse(ctx, id, act.request(), cause, act.Carry.takeInto(nil)...)
}

// Stage names the refusal stage of err.
func Stage(err error) string {
	switch {
	case errors.Is(err, ErrCapability):
		return governance.StageCapability
	case errors.Is(err, ErrLimit):
		return governance.StageLimit
	case errors.Is(err, ErrConflict):
		return governance.StageState
	default:
		return governance.StageInput
	}
}

// Done durably records the act's outcome: detail is the kind-specific
// record (governance.*Detail) and actErr the act's failure, if any. It
// returns an error only when the record could not be written — the act
// happened but its outcome is not on the chain, so the caller must not
// report success.
func (pm *Permit) Done(ctx context.Context, detail any, actErr error) error {
	rec, ok, err := pm.outcome(detail, actErr)
	if err != nil || !ok {
		return err
	}
	seq, err := pm.p.append(noCancel(ctx), rec)
	pm.outSeq = seq
	return err
}

// Later records the act's outcome with the subject's next record (see
// Carry): in the same batch as its next decision, or when the carry is
// flushed. Without a carry it is Done.
func (pm *Permit) Later(ctx context.Context, detail any, actErr error) error {
	if pm.act.Carry == nil {
		return pm.Done(ctx, detail, actErr)
	}
	rec, ok, err := pm.outcome(detail, actErr)
	if err != nil || !ok {
		return err
	}
	pm.act.Carry.add(rec)
	return nil
}

func (pm *Permit) outcome(detail any, actErr error) (Record, bool, error) {
	if pm.done {
		return Record{}, false, errors.New("authority: outcome already recorded")
	}
	pm.done = true
	if pm.act.Kind == "" {
		return Record{}, false, nil
	}
	rec := governance.ActRecord{ActionID: pm.actionID, Action: pm.act.Action, Agent: pm.act.Subject.Agent, PID: pm.act.Subject.PID,
		Session: pm.act.Subject.Session, OK: actErr == nil, Micros: pm.p.opts.Now().Sub(pm.start).Microseconds()}
	if actErr != nil {
		rec.Error = actErr.Error()
	}
	if detail != nil {
		// Canonical once, here: the ledger's canonical encoder copies
		// canonical raw JSON as it is (the bytes are what canonicalizing
		// encoding/json's text gives).
		b, err := jcs.Marshal(detail)
		if err != nil {
			return Record{}, false, fmt.Errorf("authority: encoding the %s record: %w", pm.act.Kind, err)
		}
		rec.Detail = b
	}
	src := pm.act.Source
	if src == "" {
		src = "authority"
	}
	return Record{src, pm.act.Kind, rec}, true, nil
}

// Do authorizes act, runs it and records its outcome. run returns the
// kind-specific detail and the act's error; Do returns run's error, or the
// refusal, or a ledger failure.
func (p *Pipeline) Do(ctx context.Context, act Act, run func(ctx context.Context, pm *Permit) (detail any, err error)) error {
	pm, err := p.Authorize(ctx, act)
	if err != nil {
		return err
	}
	detail, actErr := run(ctx, pm)
	if err := pm.Done(ctx, detail, actErr); err != nil {
		return errors.Join(actErr, err)
	}
	return actErr
}

// Record durably appends a governance record that is not part of an act
// (an amendment, a sanction, an environment switch, a repair note),
// failing closed like the rest.
func (p *Pipeline) Record(ctx context.Context, source, kind string, payload any) (uint64, error) {
	if err := p.Healthy(); err != nil {
		return 0, err
	}
	return p.append(ctx, Record{source, kind, payload})
}

// append writes records durably, in one batch; a ledger failure (not a
// cancelled context or a rejected record) marks the pipeline failed.
func (p *Pipeline) append(ctx context.Context, recs ...Record) (uint64, error) {
	seq, err := p.opts.Ledger.Append(ctx, recs...)
	if err == nil {
		return seq, nil
	}
	kind := recs[len(recs)-1].Kind
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return 0, err
	}
	if errors.Is(err, ErrBadRecord) {
		return 0, fmt.Errorf("%w: recording %s: %w", ErrRefused, kind, err)
	}
	p.Fail(err)
	p.stats.Failed.Add(1)
	return 0, fmt.Errorf("%w: recording %s: %v", ErrLedger, kind, err)
}
