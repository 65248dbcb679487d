package daemon

import (
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/weftos/weftos/internal/jcs"
	"github.com/weftos/weftos/internal/kernel"
)

// TestIPCRecordFlat checks that ipcRecord spells out every member of
// kernel.IPCEvent (a field added there must be added here) and encodes as
// the embedding form did.
func TestIPCRecordFlat(t *testing.T) {
	ev, rec := reflect.TypeFor[kernel.IPCEvent](), reflect.TypeFor[ipcRecord]()
	for i := range ev.NumField() {
		f := ev.Field(i)
		g, ok := rec.FieldByName(f.Name)
		if !ok || g.Type != f.Type || g.Tag != f.Tag {
			t.Errorf("ipcRecord lacks kernel.IPCEvent.%s %s `%s`", f.Name, f.Type, f.Tag)
		}
	}
	type embedded struct {
		kernel.IPCEvent
		PayloadHash string          `json:"payload_hash"`
		Payload     *kernel.Payload `json:"payload,omitempty"`
	}
	for _, e := range []kernel.IPCEvent{
		{},
		{ID: 1, From: 2, Target: "pid:3", PayloadKind: "json", Size: 40},
		{ID: 1 << 60, From: 9, Target: "topic:x", PayloadKind: "text", Size: 1, CorrelationID: 7, TraceID: "t", Reason: "no \"route\"", Action: "ipc.kernel", ActionID: "a1", Agent: "é"},
	} {
		p := kernel.JSONPayload([]byte(`{"b":1,"a":[2]}`))
		for _, withPayload := range []bool{false, true} {
			flat, old := newIPCRecord(e, "abc"), embedded{IPCEvent: e, PayloadHash: "abc"}
			if withPayload {
				flat.Payload, old.Payload = &p, &p
			}
			got, err := jcs.Marshal(flat)
			if err != nil {
				t.Fatal(err)
			}
			want, err := jcs.Marshal(old)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("ipc record %s, want %s", got, want)
			}
		}
	}
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
			if got, want := payloadHash(&p), oldPayloadHash(&p); got != want {
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
		if got, want := payloadHash(&p), oldPayloadHash(&p); got != want {
			t.Fatalf("payloadHash(%q) = %q, json.Marshal's %q", raw, got, want)
		}
	})
}
