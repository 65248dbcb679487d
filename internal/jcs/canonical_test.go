package jcs

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// canonicalSeeds are texts on either side of the canonical form: each
// rule (order, escapes, numbers, whitespace, depth) once each way.
var canonicalSeeds = []string{
	`{}`, `[]`, `""`, `0`, `-1`, `true`, `false`, `null`, `"a"`,
	`{"a":1,"b":[true,false,null],"c":{"d":"e"}}`,
	`{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a":1,"b":2,"b":3}`,
	`{"\u20ac":1,"\ud83d\ude00":2,"\ufb33":3}`, "{\"\U0001F600\":1,\"\uFB33\":2}", "{\"\uFB33\":1,\"\U0001F600\":2}",
	`{"":1,"a":2}`, `{"a":2,"":1}`,
	"{\"a\\n\":1,\"a\\u001f\":2}", "{\"a\\u001f\":1,\"a\\n\":2}", "{\"\\\"\":1,\"\\\\\":2}", "{\"\\\\\":1,\"\\\"\":2}",
	`"\n"`, `"\u000a"`, `"\u000b"`, `"\u000B"`, `"\u0020"`, `"\/"`, `"/"`, `"\u001f"`, `"\u007f"`, "\"\x7f\"",
	`"\b\t\n\f\r\"\\"`, `"\u0008"`, "\"\xff\"", "\"\xc3\xa9\"", "\"\x01\"", `"\ud83d\ude00"`, "\"\U0001F600\"",
	`1`, `1.5`, `1.50`, `1e3`, `1000`, `1E3`, `1e+21`, `1e21`, `1000000000000000000000`, `1e-7`, `0.000001`, `1e-6`,
	`-0`, `0.0`, `-0.0`, `123456789012345`, `1234567890123456`, `12345678901234567890`, `9007199254740993`,
	`0.1`, `0.10`, `.1`, `01`, `-`, `1.`, `1e`, `1e400`, `1e-400`, `5e-324`, `1.7976931348623157e+308`,
	` {}`, `{} `, `{ }`, `[1, 2]`, `[1,2]`, `{"a" :1}`, `{"a": 1}`, `[1,]`, `[,1]`, `{"a":1,}`, `{"a"}`, `{1:2}`,
	`"abc`, `[`, `{`, `{"a":`, `tru`, `nul`, `truex`, `[1]x`, ``,
	strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth),
	strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1),
}

// TestIsCanonical: IsCanonical holds exactly for the texts Canonicalize
// returns unchanged, at every nesting depth.
func TestIsCanonical(t *testing.T) {
	for _, s := range canonicalSeeds {
		checkIsCanonical(t, []byte(s))
	}
	// Every canonical text is recognised, whatever produced it.
	for _, s := range canonicalSeeds {
		if out, err := Canonicalize([]byte(s)); err == nil && !IsCanonical(out) {
			t.Errorf("IsCanonical(%q) = false for Canonicalize's output", out)
		}
	}
}

func checkIsCanonical(t *testing.T, in []byte) {
	t.Helper()
	for _, depth := range []int{0, 1, MaxDepth - 1, MaxDepth} {
		out, err := appendCanonicalAt(nil, in, depth)
		want := err == nil && bytes.Equal(out, in)
		if got := isCanonicalAt(in, depth); got != want {
			t.Fatalf("isCanonicalAt(%q, %d) = %v; Canonicalize gives %q, %v", in, depth, got, out, err)
		}
	}
}

// FuzzIsCanonical checks IsCanonical against Canonicalize on arbitrary
// input and on canonical text (which fuzzed bytes rarely are).
func FuzzIsCanonical(f *testing.F) {
	for _, s := range canonicalSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkIsCanonical(t, in)
		if out, err := Canonicalize(in); err == nil {
			checkIsCanonical(t, out)
		}
	})
}

func TestIsCanonicalAllocates(t *testing.T) {
	in := []byte(`{"a":[1,0.1,1e+30,"x\n\u0001é"],"b":{"€":null,"😀":true}}`)
	if !IsCanonical(in) {
		t.Fatal("not canonical")
	}
	if n := testing.AllocsPerRun(100, func() { IsCanonical(in) }); n != 0 {
		t.Fatalf("IsCanonical allocates %v times", n)
	}
}

// TestRawMessageVerbatim: canonical raw JSON is copied as it is, and
// anything else is canonicalized, inside a record as on its own.
func TestRawMessageVerbatim(t *testing.T) {
	type rec struct {
		A      string          `json:"a"`
		Detail json.RawMessage `json:"detail,omitempty"`
	}
	for _, raw := range []string{`{"b":1,"c":[2]}`, `{"c":1,"b":2}`, ` {"b" : 1.50}`, `"<&>"`, `null`} {
		for _, v := range []any{json.RawMessage(raw), rec{A: "x", Detail: json.RawMessage(raw)}, &rec{Detail: json.RawMessage(raw)}} {
			want, werr := marshalGeneral(v)
			got, err := Marshal(v)
			if err != nil || werr != nil || !bytes.Equal(got, want) {
				t.Errorf("Marshal(%#v) = %s, %v; general %s, %v", v, got, err, want, werr)
			}
		}
	}
}
