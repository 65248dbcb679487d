package daemon

import (
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/quick"

	"github.com/weftos/weftos/internal/jcs"
	"github.com/weftos/weftos/internal/jcs/jcstest"
	"github.com/weftos/weftos/internal/kernel"
)

// flatIPCRecord is the ipc.* record as it was written before ipcRecord
// embedded kernel.IPCEvent again: every member spelt out.
type flatIPCRecord struct {
	ID            uint64          `json:"id"`
	From          kernel.PID      `json:"from"`
	Target        string          `json:"target"`
	PayloadKind   string          `json:"payload_kind"`
	Size          int             `json:"size"`
	CorrelationID uint64          `json:"correlation_id,omitempty"`
	TraceID       string          `json:"trace_id,omitempty"`
	Reason        string          `json:"reason,omitempty"`
	Action        string          `json:"action,omitempty"`
	ActionID      string          `json:"action_id,omitempty"`
	Agent         string          `json:"agent,omitempty"`
	PayloadHash   string          `json:"payload_hash"`
	Payload       *kernel.Payload `json:"payload,omitempty"`
}

// TestIPCRecordCanonical: ipcRecord's own canonical form is the bytes the
// flat record gave (encoding/json, canonicalized by the reference), on
// random events that set and clear every member, with and without the
// payload.
func TestIPCRecordCanonical(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	payloads := []*kernel.Payload{nil, {Kind: kernel.PayloadJSON, JSON: []byte(`{"b":1,"a":[2]}`)}, {Kind: kernel.PayloadText, Text: "<hi>\u2028"},
		{Kind: kernel.PayloadToolCall, ToolCall: &kernel.ToolCall{ID: "c1", Name: "read", Arguments: []byte(` {"path" : "/x"}`)}},
		{Kind: kernel.PayloadJSON, JSON: []byte(`{"a":`)}, {Kind: kernel.PayloadBinary, Binary: []byte{0, 1, 0xff}}}
	for _, k := range []int{jcs.MaxDepth - 3, jcs.MaxDepth - 2, jcs.MaxDepth - 1} { // nesting at the limit, with the record's two levels
		payloads = append(payloads, &kernel.Payload{Kind: kernel.PayloadJSON, JSON: []byte(strings.Repeat("[", k) + "1" + strings.Repeat("]", k))})
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	for range n {
		v, ok := quick.Value(reflect.TypeFor[kernel.IPCEvent](), r)
		if !ok {
			t.Fatal("quick cannot generate kernel.IPCEvent")
		}
		e := v.Interface().(kernel.IPCEvent)
		ev := reflect.ValueOf(&e).Elem()
		for i := range ev.NumField() {
			if r.Intn(3) == 0 {
				ev.Field(i).SetZero()
			}
		}
		hash := payloadHashSeed(r)
		rec := newIPCRecord(e, hash)
		rec.Payload = payloads[r.Intn(len(payloads))]
		jcstest.CheckMarshal(t, rec)
		flat := flatIPCRecord{ID: e.ID, From: e.From, Target: e.Target, PayloadKind: e.PayloadKind, Size: e.Size, CorrelationID: e.CorrelationID,
			TraceID: e.TraceID, Reason: e.Reason, Action: e.Action, ActionID: e.ActionID, Agent: e.Agent, PayloadHash: hash.String(), Payload: rec.Payload}
		got, err := jcs.Marshal(rec)
		want, werr := jcstest.Marshal(flat)
		if (err == nil) != (werr == nil) || string(got) != string(want) {
			t.Fatalf("ipc record %s, %v\nflat record %s, %v", got, err, want, werr)
		}
	}
	// The flat record has every member of kernel.IPCEvent.
	for f := range reflect.TypeFor[kernel.IPCEvent]().Fields() {
		if g, ok := reflect.TypeFor[flatIPCRecord]().FieldByName(f.Name); !ok || g.Type != f.Type || g.Tag != f.Tag {
			t.Errorf("flatIPCRecord lacks kernel.IPCEvent.%s", f.Name)
		}
	}
}

// payloadHashSeed is the hash of a random payload, or of none ("").
func payloadHashSeed(r *rand.Rand) ipcHash {
	if r.Intn(4) == 0 {
		return ipcHash{}
	}
	p := kernel.Text(strconv.Itoa(r.Int()))
	return payloadHash(&p)
}

// oldPayloadHash is the payload hash as it was first written: SHAKE-256/32
// over json.Marshal's bytes.
func oldPayloadHash(p *kernel.Payload) string {
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	return hex.EncodeToString(sha3.SumSHAKE256(b, 32))
}

var payloadHashSeeds = []string{`{"answer":"hi","usage":{"input_tokens":1}}`, ` { "a" : [1, 2.50, "x y"] } `, `{"b":1,"a":2}`, `"<&>"`, "\"\u2028\"", "\"\u2029é\"",
	`{"a":`, `{"a":1}x`, "\"\xff\"", `null`, `1e400`, `"\u003c"`, "\"\xe2\x80\"", "[\"a\tb\"]", ""}

// TestPayloadHashFast: the hash of an IPC payload is SHAKE-256 of
// json.Marshal's bytes, for JSON payloads (written without reflection)
// and every other kind.
func TestPayloadHashFast(t *testing.T) {
	sig := kernel.SignalPayload(kernel.SignalShutdown)
	for _, s := range payloadHashSeeds {
		for _, p := range []kernel.Payload{kernel.JSONPayload([]byte(s)), kernel.Text(s), kernel.Binary([]byte(s)), sig,
			{Kind: kernel.PayloadJSON, JSON: []byte(s), Text: "t"}, {Kind: kernel.PayloadJSON, JSON: []byte(s), Binary: []byte{1}}, {Kind: kernel.PayloadJSON, JSON: []byte(s), Signal: 1}} {
			if got, want := payloadHash(&p).String(), oldPayloadHash(&p); got != want {
				t.Errorf("payloadHash(%+v) = %q, json.Marshal's %q", p, got, want)
			}
		}
	}
	for _, s := range payloadHashSeeds[:3] {
		var h sha3.SHAKE
		if p := kernel.JSONPayload([]byte(s)); !hashJSONPayload(&h, &p) {
			t.Errorf("JSON payload %s hashed through encoding/json", s)
		}
	}
	// hashJSONPayload knows every member of kernel.Payload: one added
	// there must be checked there.
	var names []string
	for f := range reflect.TypeFor[kernel.Payload]().Fields() {
		names = append(names, f.Name)
	}
	if want := []string{"Kind", "Text", "JSON", "ToolCall", "ToolResult", "Signal", "Binary"}; !slices.Equal(names, want) {
		t.Errorf("kernel.Payload has members %v; hashJSONPayload checks %v", names, want)
	}
}

func FuzzPayloadHash(f *testing.F) {
	for _, s := range payloadHashSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := kernel.JSONPayload(raw)
		if got, want := payloadHash(&p).String(), oldPayloadHash(&p); got != want {
			t.Fatalf("payloadHash(%q) = %q, json.Marshal's %q", raw, got, want)
		}
	})
}
