package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func goldenExport(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "export.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// decodeEventLineSlow decodes a line the way VerifyExport does without the
// fast path.
func decodeEventLineSlow(line []byte) (Event, error) {
	var l exportLine
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Event{}, err
	}
	if l.Type != LineEvent || l.Seq == nil || dec.More() {
		return Event{}, errors.New("not an event line")
	}
	e := Event{Seq: *l.Seq, ChainID: l.ChainID, Timestamp: l.Timestamp, Source: l.Source, Kind: l.Kind,
		PayloadHash: l.PayloadHash, Hash: l.Hash}
	if l.PrevHash != nil {
		e.PrevHash = *l.PrevHash
	}
	if len(l.Payload) > 0 && string(l.Payload) != "null" {
		e.Payload = l.Payload
	}
	return e, nil
}

func TestParseEventLine(t *testing.T) {
	line := `{"type":"event","seq":7,"chain_id":1,"ts":-5,"prev_hash":"` + strings.Repeat("ab", 32) +
		`","source":"kernel","kind":"tool.call","payload":{"a":[1,"x"]},"payload_hash":"` + strings.Repeat("01", 32) +
		`","hash":"` + strings.Repeat("FF", 32) + `"}`
	for _, tc := range []struct {
		name string
		line string
		ok   bool
	}{
		{"as written", line, true},
		{"null payload", strings.Replace(line, `{"a":[1,"x"]}`, "null", 1), true},
		{"max seq", strings.Replace(line, `"seq":7`, `"seq":18446744073709551615`, 1), true},
		{"seq overflow", strings.Replace(line, `"seq":7`, `"seq":18446744073709551616`, 1), false},
		{"chain id overflow", strings.Replace(line, `"chain_id":1`, `"chain_id":4294967296`, 1), false},
		{"min ts", strings.Replace(line, `"ts":-5`, `"ts":-9223372036854775808`, 1), true},
		{"ts overflow", strings.Replace(line, `"ts":-5`, `"ts":9223372036854775808`, 1), false},
		{"leading zero", strings.Replace(line, `"seq":7`, `"seq":07`, 1), false},
		{"fraction", strings.Replace(line, `"seq":7`, `"seq":7.0`, 1), false},
		{"exponent", strings.Replace(line, `"seq":7`, `"seq":7e0`, 1), false},
		{"negative seq", strings.Replace(line, `"seq":7`, `"seq":-7`, 1), false},
		{"escape in kind", strings.Replace(line, `tool.call`, `tool\u002ecall`, 1), false},
		{"invalid utf-8 in source", strings.Replace(line, `kernel`, "kern\xffel", 1), false},
		{"whitespace", strings.Replace(line, `"seq":7`, `"seq": 7`, 1), false},
		{"members reordered", strings.Replace(line, `"chain_id":1,"ts":-5`, `"ts":-5,"chain_id":1`, 1), false},
		{"short hash", strings.Replace(line, strings.Repeat("01", 32), strings.Repeat("01", 31), 1), false},
		{"trailing data", line + " ", false},
		{"no payload", strings.Replace(line, `"payload":{"a":[1,"x"]},`, ``, 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e Event
			got := parseEventLine([]byte(tc.line), &e)
			if got != tc.ok {
				t.Fatalf("parseEventLine = %v, want %v", got, tc.ok)
			}
			if !got {
				return
			}
			want, err := decodeEventLineSlow([]byte(tc.line))
			if err != nil {
				t.Fatalf("accepted a line encoding/json rejects: %v", err)
			}
			if !reflect.DeepEqual(e, want) {
				t.Fatalf("fast %+v\nslow %+v", e, want)
			}
		})
	}
}

// TestParseEventLineGolden: every event line Export wrote takes the fast
// path.
func TestParseEventLineGolden(t *testing.T) {
	n := 0
	for _, line := range bytes.Split(goldenExport(t), []byte("\n")) {
		if !bytes.HasPrefix(line, []byte(`{"type":"event"`)) {
			continue
		}
		n++
		var e Event
		if !parseEventLine(line, &e) {
			t.Fatalf("declined %s", line)
		}
	}
	if n == 0 {
		t.Fatal("no event lines in the golden export")
	}
}

// FuzzParseEventLine: a line the fast path accepts (with a payload the
// canonicalizer takes, as VerifyExport requires) decodes to the same event
// with encoding/json; and a whole export verifies to the same report with
// the fast path on and off.
func FuzzParseEventLine(f *testing.F) {
	golden := goldenExport(f)
	for _, line := range bytes.Split(golden, []byte("\n")) {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var e Event
		if parseEventLine(line, &e) {
			if in, _ := computeIntrinsic(&e, nil); in.payloadErr == nil {
				want, err := decodeEventLineSlow(line)
				if err != nil {
					t.Fatalf("accepted %q that encoding/json rejects: %v", line, err)
				}
				if !reflect.DeepEqual(e, want) {
					t.Fatalf("%q:\nfast %+v\nslow %+v", line, e, want)
				}
			}
		}
		// The line in place of an event line of the golden export, cut
		// before its first checkpoint (signatures are slow to check, and
		// the fast path reads event lines only).
		lines := bytes.Split(golden, []byte("\n"))[:6]
		for _, i := range []int{1, 3, 5} {
			doc := bytes.Join(append(append(append([][]byte(nil), lines[:i]...), line), lines[i+1:]...), []byte("\n"))
			fast, err := VerifyExport(bytes.NewReader(doc), VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			fastEventLines = false
			slow, err := VerifyExport(bytes.NewReader(doc), VerifyOptions{})
			fastEventLines = true
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("line %d replaced by %q:\nfast %+v %+v\nslow %+v %+v", i, line, fast, fast.Problem, slow, slow.Problem)
			}
		}
	})
}
