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
