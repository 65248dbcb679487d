package authority

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/jcs/jcstest"
)

// captureLedger keeps the records as the pipeline hands them over.
type captureLedger struct{ recs []Record }

func (l *captureLedger) Append(_ context.Context, recs ...Record) (uint64, error) {
	l.recs = append(l.recs, recs...)
	return uint64(len(l.recs)), nil
}

// decideAs is a gate answering with a fixed decision.
type decideAs governance.Decision

func (g decideAs) Check(context.Context, *governance.Request) governance.Decision {
	return governance.Decision(g)
}

// oldChainBytes is what the chain held for a record before details were
// encoded canonically once: the detail written by encoding/json into the
// act record, the record written by encoding/json and canonicalized —
// here by the reference canonicalizer, not by the code under test.
func oldChainBytes(rec Record, detail any) ([]byte, error) {
	payload := rec.Payload
	if ar, ok := payload.(governance.ActRecord); ok && detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return nil, err
		}
		ar.Detail = b
		payload = ar
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	return jcstest.Canonicalize(b)
}

// checkRecordBytes runs one act through the pipeline and compares the
// chain's canonical payload of each record with the old path's bytes.
func checkRecordBytes(t *testing.T, d governance.Decision, act Act, detail any, actErr error) {
	t.Helper()
	var l captureLedger
	p, err := New(Options{Ledger: &l, Gate: decideAs(d), NewActionID: func() string { return "id-1" }})
	if err != nil {
		t.Fatal(err)
	}
	pm, err := p.Authorize(context.Background(), act)
	if err != nil {
		return // a denial; its record is compared below all the same
	}
	doneErr := pm.Done(context.Background(), detail, actErr)
	for _, rec := range l.recs {
		got, gerr := chain.CanonicalPayload(rec.Payload)
		want, werr := oldChainBytes(rec, detail)
		if (gerr == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("%s record: %s, %v\nold path: %s, %v", rec.Kind, got, gerr, want, werr)
		}
	}
	if doneErr != nil {
		// The detail cannot be encoded: the old path could not have
		// written it either.
		if _, err := json.Marshal(detail); err == nil {
			if _, err := jcstest.Canonicalize(mustJSON(t, detail)); err == nil {
				t.Fatalf("Done: %v, but the old path encodes the detail", doneErr)
			}
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fuzzAct(agent, session, s string, pid uint64) Act {
	return Act{Action: "llm.call", Kind: "llm.call", Source: "agent",
		Subject: Subject{Agent: agent, PID: pid, Caps: []string{"can_ipc", s}, Session: session},
		Context: governance.Context{Host: s, Model: agent, Extra: map[string]string{"provider": s, s: agent, agent: session}}}
}

// TestRecordBytesUnchanged: the records of an act are the bytes the old
// path wrote, for the details of every act kind and awkward values.
func TestRecordBytesUnchanged(t *testing.T) {
	eff := governance.Effect{Risk: 0.1, Fairness: 0.2, Privacy: 0.3, Novelty: 1e-7, Security: 1}
	d := governance.Decision{Outcome: governance.Permit, RuleIDs: []string{"r1"}, Effect: eff, Magnitude: eff.Magnitude(),
		Reason: governance.ReasonNoRule, Env: "dev", Threshold: 0.9, ConstitutionHash: "abc", ConstitutionRevision: 1 << 60}
	yes, n := true, uint64(7)
	for _, detail := range []any{
		nil,
		governance.LLMCallDetail{Provider: "openai", Model: "m<&>", Host: "127.0.0.1", Loopback: true, InputTokens: 1241, PromptHash: "h", ReplyLen: 2},
		governance.MemoryDetail{K: 5, QueryHash: "h", Scope: "own", Hits: []string{"b", "a\u2028"}, Tags: []string{}},
		governance.ToolCallDetail{Tool: "t\xff", InputHash: "h", Grants: []string{"fs"}, InstallSeq: &n, Confined: &yes, Fuel: math.MaxInt64},
		&governance.NetEgressDetail{Tool: "fetch", Host: "example.org", Status: 200},
		(*governance.NetEgressDetail)(nil),
		map[string]any{"z": 1.5, "a": []any{"x", nil, true}, "é": map[string]string{"b": "1", "a": "2"}},
		json.RawMessage(`{"b" : 2, "a":1}`),
		json.RawMessage(`{"a":1,"a":2}`),
		map[string]float64{"nan": math.NaN()},
	} {
		checkRecordBytes(t, d, fuzzAct("default@s1", "s1", "x", 1), detail, nil)
		checkRecordBytes(t, d, fuzzAct("a\x01\"\\</script>", "", "\U0001F600", 0), detail, errors.New("failed: \x00 \xff"))
	}
	d.Outcome = governance.Deny
	checkRecordBytes(t, d, fuzzAct("a", "s", "x", 2), nil, nil)
}

// FuzzRecordBytes compares the records of an act with the old path's
// bytes on fuzzed strings and numbers.
func FuzzRecordBytes(f *testing.F) {
	f.Add("default@s1", "s1", "openai", "h", "", int64(1241), uint64(1), 0.1, 0.2, uint8(0))
	f.Add("a\xff<&>", "\u2028", "\x00\x1f\"\\", "é\U0001F600", "boom", int64(-1), uint64(math.MaxUint64), 1e-7, 1e21, uint8(1))
	f.Add("", "", "", "", "", int64(math.MaxInt64), uint64(0), -0.0, 5e-324, uint8(2))
	f.Fuzz(func(t *testing.T, agent, session, s, h, errMsg string, i int64, u uint64, f1, f2 float64, which uint8) {
		eff := governance.Effect{Risk: f1, Fairness: f2, Privacy: 0.3}
		d := governance.Decision{Outcome: governance.Outcome(which % 4), RuleIDs: []string{s, h}, Effect: eff, Magnitude: f1 * f2,
			Reason: s + h, Env: "dev", Threshold: f2, ConstitutionHash: h, ConstitutionRevision: u}
		var actErr error
		if errMsg != "" {
			actErr = errors.New(errMsg)
		}
		var detail any
		switch which % 4 {
		case 0:
			detail = governance.LLMCallDetail{Provider: s, Model: agent, Host: h, Loopback: i%2 == 0, InputTokens: int(i), OutputTokens: int(u % 1000),
				PromptHash: h, ReplyHash: s, ReplyLen: int(i), ToolCalls: 1, StopReason: session}
		case 1:
			detail = governance.MemoryDetail{ID: s, Bytes: int(i), Tags: []string{s, h}, QueryHash: h, K: int(u % 100), Hits: []string{agent}, Scope: session}
		case 2:
			detail = governance.ToolCallDetail{Tool: s, CallID: h, InputHash: agent, OutputLen: int(i), Fuel: i, Grants: []string{session}, InstallSeq: &u}
		default:
			detail = map[string]any{s: f1, h: []any{agent, i, u}, session: map[string]string{agent: s}}
		}
		checkRecordBytes(t, d, fuzzAct(agent, session, s, u), detail, actErr)
	})
}
