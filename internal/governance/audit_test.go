package governance

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// chainSim collects records the way the daemon would write them: each
// payload is marshalled to JSON and decoded back with DecodeAuditInput.
type chainSim struct {
	t       *testing.T
	inputs  []AuditInput
	nextSeq uint64
}

func (c *chainSim) append(kind string, payload any) uint64 {
	c.t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		c.t.Fatal(err)
	}
	seq := c.nextSeq
	c.nextSeq++
	in, err := DecodeAuditInput(seq, kind, b)
	if err != nil {
		c.t.Fatalf("decode %s: %v", kind, err)
	}
	c.inputs = append(c.inputs, in)
	return seq
}

func (c *chainSim) decide(g *Gate, id string, req Request) Decision {
	d := g.Check(context.Background(), &req)
	c.append(KindDecision, DecisionRecord{ActionID: id, Request: req, Decision: d})
	return d
}

func (c *chainSim) ran(id, action, agent string) uint64 {
	det, _ := json.Marshal(ToolCallDetail{Tool: "x", InputHash: "00"})
	return c.append(KindToolCall, ActRecord{ActionID: id, Action: action, Agent: agent, OK: true, Micros: 3, Detail: det})
}

func (c *chainSim) seq(yield func(AuditInput) bool) {
	for _, in := range c.inputs {
		if !yield(in) {
			return
		}
	}
}

func findingKinds(r *Report) []FindingKind {
	var out []FindingKind
	for _, f := range r.Findings {
		out = append(out, f.Kind)
	}
	return out
}

func TestAuditReplay(t *testing.T) {
	key := testKey(t, 7)
	pub := key.Public().(ed25519.PublicKey)
	c0 := mustDefault(t)
	engine := mustEngine(t, c0, "dev")
	gate, err := NewGate(engine, GateConfig{Workspace: []string{"/ws"}, AllowedHosts: []string{"*.ok"}})
	if err != nil {
		t.Fatal(err)
	}
	sim := &chainSim{t: t}
	all := []string{"can_exec_tools", "shell", "can_network", "gov.amend"}

	// Genesis.
	ad, _ := NewAdoption(c0)
	if err := ad.Sign(key); err != nil {
		t.Fatal(err)
	}
	sim.append(KindAmendment, AmendmentRecord{Amendment: ad, ResultHash: c0.HashHex(), ResultRevision: c0.Revision})

	// An honest permit that runs.
	sim.decide(gate, "a1", Request{Action: "tool.exec.git", Agent: "alice", Capabilities: all, Context: Context{Path: "/ws/x"}})
	sim.ran("a1", "tool.exec.git", "alice")

	// Forged: shell without capability recorded as a plain permit.
	forged := Request{Action: "tool.shell.bash", Agent: "mallory", Capabilities: []string{"can_exec_tools"}}
	forgedSeq := sim.append(KindDecision, DecisionRecord{ActionID: "m1", Request: forged, Decision: Decision{
		Outcome: Permit, Effect: Effect{Risk: 0.7, Privacy: 0.3, Security: 0.6}, Env: "dev",
		ConstitutionHash: c0.HashHex(), Reason: ReasonNoRule}})
	sim.ran("m1", "tool.shell.bash", "mallory")

	// An action that ran with no decision at all.
	noDecSeq := sim.ran("ghost", "fs.write", "mallory")

	// An honest deny that ran anyway.
	d := sim.decide(gate, "m2", Request{Action: "tool.shell.bash", Agent: "mallory", Capabilities: []string{"can_exec_tools"}})
	if d.Outcome != Deny {
		t.Fatalf("setup: %+v", d)
	}
	sim.ran("m2", "tool.shell.bash", "mallory")

	// A deferred action approved, and one that ran without approval.
	defReq := Request{Action: "x.unknown", Agent: "bob", Effect: Effect{Risk: 1, Fairness: 1, Privacy: 1, Novelty: 1, Security: 1}}
	if d := sim.decide(gate, "b1", defReq); d.Outcome != Deny {
		// magnitude 1 > 0.9: the magnitude rule denies.
		t.Fatalf("setup: %+v", d)
	}
	// Amendment (governed): retire the magnitude rule, so that the default
	// "over threshold → defer" applies.
	amendReq := Request{Action: ActionAmend, Agent: "operator", Capabilities: all}
	ret, _ := NewRetirement(c0, "magnitude-over-threshold")
	if err := ret.Sign(key); err != nil {
		t.Fatal(err)
	}
	amendReq = ret.Request("operator", all)
	if d := sim.decide(gate, "gov1", amendReq); !d.Outcome.Allowed() {
		t.Fatalf("amend decision: %+v", d)
	}
	c1, err := c0.Apply(ret, pub)
	if err != nil {
		t.Fatal(err)
	}
	sim.append(KindAmendment, AmendmentRecord{ActionID: "gov1", Amendment: ret, ResultHash: c1.HashHex(), ResultRevision: c1.Revision})
	if err := engine.SetConstitution(c1); err != nil {
		t.Fatal(err)
	}
	if d := sim.decide(gate, "b2", defReq); d.Outcome != Defer {
		t.Fatalf("setup defer: %+v", d)
	}
	sim.append(KindResolution, ResolutionRecord{ActionID: "b2", Approved: true, By: "operator"})
	sim.ran("b2", "x.unknown", "bob")
	if d := sim.decide(gate, "b3", defReq); d.Outcome != Defer {
		t.Fatal("setup defer 2")
	}
	unapprovedSeq := sim.ran("b3", "x.unknown", "bob")

	// A decision that names the old constitution after the amendment.
	stale := sim.decide(gate, "a2", Request{Action: "tool.exec.git", Agent: "alice", Capabilities: all})
	staleRec := DecisionRecord{ActionID: "a3", Request: Request{Action: "tool.exec.git", Agent: "alice", Capabilities: all}, Decision: stale}
	staleRec.Decision.ConstitutionHash = c0.HashHex()
	staleSeq := sim.append(KindDecision, staleRec)

	// Risky agent: repeated high-risk denials push bob's weighted risk up.
	for i := range 8 {
		sim.decide(gate, fmt.Sprintf("r%d", i), Request{Action: "tool.shell.bash", Agent: "bob", Capabilities: []string{"can_exec_tools"}, Effect: Effect{Risk: 1}})
	}

	aud, err := NewAuditor(AuditConfig{Trusted: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := aud.Audit(context.Background(), sim.seq)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		seq  uint64
		kind FindingKind
	}{
		{forgedSeq, FindingMismatch},
		{noDecSeq, FindingNoDecision},
		{noDecSeq + 2, FindingRanDespiteDeny},
		{unapprovedSeq, FindingRanUnapproved},
		{staleSeq, FindingWrongConstitution},
	}
	if len(rep.Findings) != len(want) {
		t.Fatalf("findings %v, want %v", rep.Findings, want)
	}
	for i, w := range want {
		f := rep.Findings[i]
		if f.Seq != w.seq || f.Kind != w.kind {
			t.Errorf("finding %d: %+v, want seq %d %s", i, f, w.seq, w.kind)
		}
	}
	if f := rep.Findings[0]; !strings.Contains(f.Message, "recorded permit") || !strings.Contains(f.Message, "decide deny") || f.Agent != "mallory" {
		t.Errorf("mismatch message: %+v", f)
	}
	if rep.ConstitutionHash != c1.HashHex() || rep.ConstitutionRevision != 1 || rep.Amendments != 2 {
		t.Errorf("constitution in force: %+v", rep)
	}
	// Sanctions: shell denials name "warn"; bob crosses 0.6 and 0.85 once each.
	var bobJudicial []string
	for _, s := range rep.Sanctions {
		if s.Agent == "bob" && strings.HasPrefix(s.RuleID, "risky-agent") {
			bobJudicial = append(bobJudicial, s.RuleID+":"+s.Sanction.String())
		}
	}
	if !slices.Equal(bobJudicial, []string{"risky-agent-warn:warn", "risky-agent-suspend:suspend"}) {
		t.Errorf("judicial sanctions %v", bobJudicial)
	}
	i := slices.IndexFunc(rep.Agents, func(a AgentRisk) bool { return a.Agent == "bob" })
	if i < 0 || rep.Agents[i].Risk < 0.85 || rep.Agents[i].Denied != 9 || rep.Agents[i].Deferred != 2 {
		t.Errorf("bob: %+v", rep.Agents)
	}

	// Recorded sanctions are not asked for again.
	n := len(rep.Sanctions)
	for _, s := range rep.Sanctions {
		sim.append(KindSanction, s)
	}
	rep2, err := aud.Audit(context.Background(), sim.seq)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep2.Sanctions) != 0 || rep2.SanctionsRecorded != n {
		t.Errorf("after recording: %d new, %d recorded (want 0, %d)", len(rep2.Sanctions), rep2.SanctionsRecorded, n)
	}

	// --since hides earlier findings but keeps the state.
	aud2, _ := NewAuditor(AuditConfig{Since: staleSeq})
	rep3, _ := aud2.Audit(context.Background(), sim.seq)
	if !slices.Equal(findingKinds(rep3), []FindingKind{FindingWrongConstitution}) {
		t.Errorf("since: %v", rep3.Findings)
	}

	// Printable as text and JSON.
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"findings: 5", "decision_mismatch", "action_without_decision", "bob", "sanctions to apply"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("text report lacks %q:\n%s", s, buf.String())
		}
	}
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || len(back.Findings) != 5 || back.OK() {
		t.Fatalf("JSON round trip: %v", err)
	}
}

// TestAuditFlagsForbiddenPermit is the acceptance test of the issue: a permit
// recorded on the chain but forbidden by the rules in force is flagged.
func TestAuditFlagsForbiddenPermit(t *testing.T) {
	c := mustParse(t, `[[rule]]
id = "no-egress"
branch = "executive"
severity = "blocking"
outcome = "deny"
[rule.when]
actions = ["net.egress"]
`)
	aud, err := NewAuditor(AuditConfig{Initial: c})
	if err != nil {
		t.Fatal(err)
	}
	rec := DecisionRecord{ActionID: "e1", Request: Request{Action: "net.egress", Agent: "a"},
		Decision: Decision{Outcome: Permit, Env: "prod", ConstitutionHash: c.HashHex()}}
	honest := DecisionRecord{ActionID: "e2", Request: Request{Action: "net.egress", Agent: "a"},
		Decision: mustEngine(t, c, "prod").Decide(&Request{Action: "net.egress"})}
	rep, err := aud.Audit(context.Background(), slices.Values([]AuditInput{
		{Seq: 10, Kind: KindDecision, Decision: &honest},
		{Seq: 11, Kind: KindDecision, Decision: &rec},
		{Seq: 12, Kind: KindToolCall, Action: &ActionRecord{ActionID: "e1", Action: "net.egress"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Kind != FindingMismatch || rep.Findings[0].Seq != 11 {
		t.Fatalf("findings %+v", rep.Findings)
	}
}

func TestAuditAmendmentChecks(t *testing.T) {
	key := testKey(t, 3)
	other := testKey(t, 4)
	c0 := mustDefault(t)
	ad, _ := NewAdoption(c0)
	_ = ad.Sign(key)
	ret, _ := NewRetirement(c0, "novel-action")
	_ = ret.Sign(key)
	c1, _ := c0.Apply(ret)
	foreign, _ := NewRetirement(c0, "novel-action")
	_ = foreign.Sign(other)
	deny := mustEngine(t, c0, "dev").Decide(&Request{Action: ActionAmend}) // no gov.amend: deny
	inputs := []AuditInput{
		{Seq: 0, Amendment: &AmendmentRecord{Amendment: ad, ResultHash: c0.HashHex()}},
		// Amendment without a decision.
		{Seq: 1, Amendment: &AmendmentRecord{Amendment: ret, ResultHash: c1.HashHex()}},
		// Amendment by an untrusted key, with a denied decision.
		{Seq: 2, Decision: &DecisionRecord{ActionID: "g", Request: Request{Action: ActionAmend}, Decision: deny}},
		{Seq: 3, Amendment: &AmendmentRecord{ActionID: "g", Amendment: foreign, ResultHash: "00"}},
		// A decision before... a resolution for an unknown action.
		{Seq: 4, Resolution: &ResolutionRecord{ActionID: "zz", Approved: true}},
		{Seq: 5, Resolution: &ResolutionRecord{ActionID: "g", Approved: true}},
	}
	aud, _ := NewAuditor(AuditConfig{Trusted: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}})
	rep, err := aud.Audit(context.Background(), slices.Values(inputs))
	if err != nil {
		t.Fatal(err)
	}
	got := findingKinds(rep)
	// seq 1: no decision; seq 2: decided under c0 while c1 was in force;
	// seq 3: denied decision and untrusted signer; seq 4, 5: bad resolutions.
	want := []FindingKind{FindingBadAmendment, FindingWrongConstitution, FindingBadAmendment, FindingBadAmendment, FindingBadResolution, FindingBadResolution}
	if !slices.Equal(got, want) {
		t.Fatalf("findings %v\n%+v", got, rep.Findings)
	}
	if rep.ConstitutionRevision != 1 {
		t.Fatalf("the valid retirement (seq 1) still applies: revision %d", rep.ConstitutionRevision)
	}
	// Without an initial constitution, decisions cannot be checked.
	aud2, _ := NewAuditor(AuditConfig{})
	rep2, _ := aud2.Audit(context.Background(), slices.Values([]AuditInput{{Seq: 0, Decision: &DecisionRecord{ActionID: "x", Request: Request{Action: "a"}}}}))
	if !slices.Equal(findingKinds(rep2), []FindingKind{FindingNoConstitution}) {
		t.Fatalf("%v", rep2.Findings)
	}
	if _, err := NewAuditor(AuditConfig{Alpha: 2}); err == nil {
		t.Fatal("alpha 2 accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := aud2.Audit(ctx, slices.Values(inputs)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestAuditEffectBelowCatalog(t *testing.T) {
	c := mustDefault(t)
	g, err := NewGate(mustEngine(t, c, "dev"), GateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	req := Request{Action: "tool.exec.x", Agent: "a", Capabilities: []string{"can_exec_tools"}, Context: Context{Tool: "curl"}}
	honest := DecisionRecord{ActionID: "h", Request: req, Decision: g.Check(context.Background(), &req)}
	lowered := honest
	lowered.ActionID = "l"
	lowered.Decision.Effect.Security = 0.1 // curl's catalog security is 0.5
	lowered.Decision.Magnitude = lowered.Decision.Effect.Magnitude()
	aud, _ := NewAuditor(AuditConfig{Initial: c, Catalog: DefaultCatalog()})
	rep, _ := aud.Audit(context.Background(), slices.Values([]AuditInput{{Seq: 1, Decision: &honest}, {Seq: 2, Decision: &lowered}}))
	if !slices.Equal(findingKinds(rep), []FindingKind{FindingEffectBelowCatalog}) || rep.Findings[0].Seq != 2 {
		t.Fatalf("%+v", rep.Findings)
	}
}

func TestDecodeAuditInput(t *testing.T) {
	for _, tc := range []struct {
		kind, payload string
		ok            bool
	}{
		{KindDecision, `{"action_id":"a","request":{"action":"x","context":{},"effect":{"risk":0,"fairness":0,"privacy":0,"novelty":0,"security":0}},"decision":{"outcome":"deny","effect":{"risk":0,"fairness":0,"privacy":0,"novelty":0,"security":0},"magnitude":0,"reason":"","env":"dev","threshold":0.9,"constitution_hash":"","constitution_revision":0}}`, true},
		{KindDecision, `{"action_id":"a","extra":1}`, false},
		{KindDecision, `{"action_id":""}`, false},
		{KindDecision, `{"action_id":"a","decision":{"outcome":"maybe"}}`, false},
		{KindResolution, `{"action_id":"a","approved":true}`, true},
		{KindResolution, `{"approved":true}`, false},
		{KindSanction, `{"agent":"a","rule_id":"r","sanction":{"kind":"warn"},"reason":"","trigger_action_id":"x","agent_risk":0.5}`, true},
		{KindAmendment, `{"amendment":{"op":"add"},"result_hash":"","result_revision":1}`, true},
		{KindToolCall, `{"action_id":"a","action":"tool.exec.x","agent":"b","ok":true,"duration_us":3,"detail":{"tool":"x","input_hash":"00"}}`, true},
		{KindToolCall, `{"action_id":"a","action":"tool.exec.x","other":"not in the schema"}`, false},
		{KindToolCall, `{"action_id":"a","action":"tool.exec.x","agent":"b","ok":true,"duration_us":3,"detail":{"tool":"x","typo":1}}`, false},
		{KindToolCall, `{"action_id":"a"}`, false},
		{KindRefusal, `{"action_id":"a","stage":"capability","reason":"no","request":{"action":"x","context":{},"effect":{"risk":0,"fairness":0,"privacy":0,"novelty":0,"security":0}}}`, true},
		{KindRefusal, `{"stage":"capability"}`, false},
		{KindProcessSpawn, `{"pid":3,"action":"agent.spawn","action_id":"a","extra":"kernel events are read loosely"}`, true},
		{KindIPCSend, `{"id":1,"from":0}`, true},
		{KindIPCSend, `[1,2]`, false},
		{"made.up", `{"anything":1}`, true},
		{KindToolCall, `{"action":"x"} {}`, false},
		{KindToolCall, `not json`, false},
	} {
		_, err := DecodeAuditInput(1, tc.kind, []byte(tc.payload))
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: %v", tc.kind, tc.payload, err)
		}
		if err != nil && !errors.Is(err, ErrBadRecord) {
			t.Errorf("not ErrBadRecord: %v", err)
		}
	}
}

func FuzzDecodeAuditInput(f *testing.F) {
	f.Add(KindDecision, []byte(`{"action_id":"a","request":{"action":"x"},"decision":{"outcome":"deny"}}`))
	f.Add(KindAmendment, []byte(`{"amendment":{"op":"retire","rule_id":"x"},"result_hash":"ab"}`))
	f.Add(KindToolCall, []byte(`{"action_id":"a","action":"x"}`))
	f.Add(KindSanction, []byte(`{"agent":"a","sanction":{"kind":"revoke","capability":"c"}}`))
	c := mustDefault(f)
	f.Fuzz(func(t *testing.T, kind string, payload []byte) {
		in, err := DecodeAuditInput(3, kind, payload)
		if err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		// Whatever decodes, the auditor replays without panicking.
		aud, _ := NewAuditor(AuditConfig{Initial: c})
		if _, err := aud.Audit(context.Background(), slices.Values([]AuditInput{in, in})); err != nil {
			t.Fatal(err)
		}
	})
}

func TestJudicialSeverity(t *testing.T) {
	c := mustDefault(t)
	aud, _ := NewAuditor(AuditConfig{Initial: c, Alpha: 1}) // risk = last sample
	e := mustEngine(t, c, "dev")
	mk := func(id string, risk float64) AuditInput {
		req := Request{Action: "fs.read", Agent: "eve", Effect: Effect{Risk: risk}}
		return AuditInput{Decision: &DecisionRecord{ActionID: id, Request: req, Decision: e.Decide(&req)}}
	}
	// One jump crosses both 0.6 (warning) and 0.85 (critical): only the
	// critical rule's sanction is emitted. Dropping and rising again re-arms.
	rep, _ := aud.Audit(context.Background(), slices.Values([]AuditInput{mk("1", 0.9), mk("2", 0.95), mk("3", 0.1), mk("4", 0.7)}))
	var got []string
	for _, s := range rep.Sanctions {
		got = append(got, s.TriggerActionID+":"+s.Sanction.String())
	}
	if !slices.Equal(got, []string{"1:suspend", "4:warn"}) {
		t.Fatalf("sanctions %v", got)
	}
}

// TestAuditOneSchema: with the one record schema, the auditor catches an
// act recorded without a decision (a bypass such as an ungoverned memory
// store), an act that ran although it was refused, an act recorded twice,
// and a kind outside the registry — and does not flag refusals themselves
// (a refused second install is not an act).
func TestAuditOneSchema(t *testing.T) {
	key := testKey(t, 9)
	c0 := mustDefault(t)
	gate, err := NewGate(mustEngine(t, c0, "dev"), GateConfig{Workspace: []string{"/ws"}})
	if err != nil {
		t.Fatal(err)
	}
	sim := &chainSim{t: t}
	ad, _ := NewAdoption(c0)
	if err := ad.Sign(key); err != nil {
		t.Fatal(err)
	}
	sim.append(KindAmendment, AmendmentRecord{Amendment: ad, ResultHash: c0.HashHex(), ResultRevision: c0.Revision})
	act := func(kind, id, action string, detail any) uint64 {
		b, _ := json.Marshal(detail)
		return sim.append(kind, ActRecord{ActionID: id, Action: action, Agent: "alice", OK: true, Detail: b})
	}
	// Honest: a decided memory store, and a refused install (no act).
	sim.decide(gate, "ok1", Request{Action: "memory.store", Agent: "alice"})
	act(KindMemoryStore, "ok1", "memory.store", MemoryDetail{ID: "ab", Bytes: 3})
	sim.append(KindRefusal, RefusalRecord{ActionID: "r1", Stage: StageState, Reason: "tool exists", Request: Request{Action: "tool.install", Agent: "operator"}})
	// A bypass: a memory store nobody decided.
	bypass := act(KindMemoryStore, "", "memory.store", MemoryDetail{ID: "cd"})
	// An act that ran although it was refused at the capability stage.
	sim.append(KindRefusal, RefusalRecord{ActionID: "r2", Stage: StageCapability, Reason: "no can_network", Request: Request{Action: "llm.call", Agent: "alice"}})
	despite := act(KindLLMCall, "r2", "llm.call", LLMCallDetail{Provider: "openai", Model: "m", PromptHash: "00"})
	// The same act recorded twice.
	twice := act(KindMemoryStore, "ok1", "memory.store", MemoryDetail{ID: "ab"})
	// A kind outside the registry.
	unknown := sim.append("memory.exfiltrate", map[string]any{"id": "x"})

	aud, err := NewAuditor(AuditConfig{Trusted: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := aud.Audit(context.Background(), sim.seq)
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]FindingKind{bypass: FindingNoDecision, despite: FindingRanDespiteRefusal, twice: FindingActionTwice, unknown: FindingUnknownKind}
	got := map[uint64]FindingKind{}
	for _, f := range rep.Findings {
		got[f.Seq] = f.Kind
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("findings %v, want %v\n%+v", got, want, rep.Findings)
	}
	if rep.Refusals != 2 {
		t.Fatalf("refusals %d", rep.Refusals)
	}
}

// TestKindRegistry: every registered kind has a class, every act kind a
// detail type that round-trips strictly, and kind names are unique.
func TestKindRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		if seen[k.Kind] || k.Class == 0 {
			t.Fatalf("bad registry entry %+v", k)
		}
		seen[k.Kind] = true
		if k.Class != ClassAct {
			continue
		}
		if k.Detail == nil {
			t.Fatalf("act kind %s has no detail type", k.Kind)
		}
		det, err := json.Marshal(k.Detail())
		if err != nil {
			t.Fatal(err)
		}
		payload, _ := json.Marshal(ActRecord{ActionID: "a", Action: "x", Agent: "y", OK: true, Detail: det})
		in, err := DecodeAuditInput(1, k.Kind, payload)
		if err != nil || in.Action == nil || in.Action.ActionID != "a" {
			t.Fatalf("%s: %v %+v", k.Kind, err, in)
		}
	}
	if len(ActKinds()) < 10 {
		t.Fatalf("act kinds %v", ActKinds())
	}
}
