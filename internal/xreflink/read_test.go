package xreflink

import (
	"encoding/json"
	"testing"

	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/jcs"
	"github.com/weftos/weftos/internal/kernel"
)

// TestPayloadReadersMatchDecoding checks the indexer's member readers
// against decoding the records the chain holds with encoding/json.
func TestPayloadReadersMatchDecoding(t *testing.T) {
	canon := func(v any) []byte {
		b, err := jcs.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, d := range []governance.DecisionRecord{
		{ActionID: "a1", Request: governance.Request{Action: "llm.call", PID: 7, Capabilities: []string{"x"},
			Context: governance.Context{Model: "m", Extra: map[string]string{"call_id": "c\"1", "other": "é"}}}},
		{ActionID: "a2", Request: governance.Request{Action: "memory.store"}},
		{},
	} {
		got, err := readDecision(canon(d))
		if err != nil {
			t.Fatal(err)
		}
		want := decisionLinks{ActionID: d.ActionID, PID: d.Request.PID, CallID: d.Request.Context.Extra["call_id"]}
		if got != want {
			t.Errorf("readDecision = %+v, want %+v", got, want)
		}
	}
	for _, a := range []governance.ActRecord{
		{ActionID: "a1", Action: "tool.call", Agent: "x", PID: 7, Session: "s\n1", OK: true, Micros: 5, Detail: json.RawMessage(`{"tool":"t","call_id":"c"}`)},
		{ActionID: "a2", Error: "boom"},
	} {
		b := canon(a)
		got, err := readAct(b)
		if err != nil {
			t.Fatal(err)
		}
		var want governance.ActRecord
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if got.ActionID != want.ActionID || got.PID != want.PID || got.Session != want.Session || got.OK != want.OK || string(got.Detail) != string(want.Detail) {
			t.Errorf("readAct = %+v, want %+v", got, want)
		}
	}
	for _, ev := range []any{
		kernel.ProcessSpawnEvent{PID: 9, Parent: 7, Name: "n", ActionID: "a5"},
		// an ipc.send record as the daemon writes it (internal/daemon/chain.go)
		map[string]any{"id": 3, "from": 9, "target": "topic:x", "payload_kind": "text", "size": 4, "action_id": "a6", "payload_hash": "h"},
	} {
		b := canon(ev)
		got, err := readKernelEvent(b)
		if err != nil {
			t.Fatal(err)
		}
		var want struct {
			PID      uint64 `json:"pid"`
			Parent   uint64 `json:"parent"`
			From     uint64 `json:"from"`
			ActionID string `json:"action_id"`
		}
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if got != (kernelLinks{PID: want.PID, Parent: want.Parent, From: want.From, ActionID: want.ActionID}) {
			t.Errorf("readKernelEvent(%s) = %+v, want %+v", b, got, want)
		}
	}
	if _, err := readAct([]byte(`{"pid":"seven"}`)); err == nil {
		t.Error("a pid that is a string: no error")
	}
}

// memberReader is the readers' rule written one member path at a time
// with jcs.Member (as they were before jcs.Members): the reference the
// one-pass readers are fuzzed against.
type memberReader struct {
	p   []byte
	err error
}

func (r *memberReader) str(path ...string) (s string) {
	if r.err == nil {
		s, r.err = jcs.MemberString(r.p, path...)
	}
	return s
}

func (r *memberReader) uint(path ...string) (n uint64) {
	if r.err == nil {
		n, r.err = jcs.MemberUint(r.p, path...)
	}
	return n
}

func (r *memberReader) bool(path ...string) (b bool) {
	if r.err == nil {
		b, r.err = jcs.MemberBool(r.p, path...)
	}
	return b
}

func (r *memberReader) raw(path ...string) (raw json.RawMessage) {
	if r.err == nil {
		raw, _, r.err = jcs.Member(r.p, path...)
	}
	return raw
}

// FuzzReadersMatchMember: on any input, each reader fails exactly when
// the one-path-at-a-time reference does, and otherwise reads the same.
func FuzzReadersMatchMember(f *testing.F) {
	for _, s := range []string{
		`{"action_id":"a1","decision":{"x":[1,"}"]},"request":{"action":"x","context":{"extra":{"call_id":"c1"}},"pid":7}}`,
		`{"action_id":"a1","detail":{"id":"m"},"ok":true,"pid":7,"session":"s"}`,
		`{"action_id":"a1","request":null}`, `{"request":{"pid":7,"context":null}}`, `{"request":5}`, `{"request":{"pid":"x"}}`,
		`{"from":9,"parent":2,"pid":3,"action_id":"a"}`, "{\"detail\":\v}", `{"pid":1,"pid":"x"}`, `{"a":1 "pid":2}`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := readDecision(p)
		r := memberReader{p: p}
		wd := decisionLinks{ActionID: r.str("action_id"), PID: r.uint("request", "pid"), CallID: r.str("request", "context", "extra", "call_id")}
		if (err != nil) != (r.err != nil) || (err == nil && d != wd) {
			t.Fatalf("readDecision = %+v, %v; reference %+v, %v", d, err, wd, r.err)
		}
		a, err := readAct(p)
		r = memberReader{p: p}
		wa := actLinks{ActionID: r.str("action_id"), PID: r.uint("pid"), Session: r.str("session"), OK: r.bool("ok"), Detail: r.raw("detail")}
		if (err != nil) != (r.err != nil) || (err == nil && (a.ActionID != wa.ActionID || a.PID != wa.PID || a.Session != wa.Session || a.OK != wa.OK ||
			string(a.Detail) != string(wa.Detail))) { // an empty detail (not JSON) may be nil in one and not the other: unreadable either way
			t.Fatalf("readAct = %+v, %v; reference %+v, %v", a, err, wa, r.err)
		}
		k, err := readKernelEvent(p)
		r = memberReader{p: p}
		wk := kernelLinks{PID: r.uint("pid"), Parent: r.uint("parent"), From: r.uint("from"), ActionID: r.str("action_id")}
		if (err != nil) != (r.err != nil) || (err == nil && k != wk) {
			t.Fatalf("readKernelEvent = %+v, %v; reference %+v, %v", k, err, wk, r.err)
		}
	})
}

// TestMayName: a memory.search detail is decoded (for its hits) unless it
// surely names no hits member in any spelling encoding/json accepts.
func TestMayName(t *testing.T) {
	for text, want := range map[string]bool{
		`{"k":5,"query_hash":"8b63","scope":"own"}`: false,
		`{}`:                  false,
		`{"hits":["a"]}`:      true,
		`{"HITS":null}`:       true,
		`{"Hits":[]}`:         true,
		`{"hi\u0074s":["a"]}`: true,
		`{"hitſ":["a"]}`:      true,
		`{"k":"white"}`:       true, // conservative
	} {
		if got := mayName([]byte(text), "hit"); got != want {
			t.Errorf("mayName(%s) = %v", text, got)
		}
		var det governance.MemoryDetail
		if json.Unmarshal([]byte(text), &det) == nil && len(det.Hits) > 0 && !want {
			t.Errorf("%s decodes hits %v but mayName says it names none", text, det.Hits)
		}
	}
}
