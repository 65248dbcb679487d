package daemon

import (
	"reflect"
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
