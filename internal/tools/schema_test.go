package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestSchemaGolden pins every built-in tool's schema in testdata/schemas.
func TestSchemaGolden(t *testing.T) {
	for _, tl := range Default().List() {
		t.Run(tl.Name(), func(t *testing.T) {
			got := append(tl.Schema(), '\n')
			path := filepath.Join("testdata", "schemas", tl.Name()+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("schema differs from %s (run with -update if intended):\n%s", path, got)
			}
			s, err := ParseSchema(want)
			if err != nil {
				t.Fatal(err)
			}
			if s.Dialect != SchemaDialect || s.AdditionalProperties == nil || *s.AdditionalProperties {
				t.Fatalf("schema must declare the dialect and additionalProperties false")
			}
			if tl.Description() == "" {
				t.Fatal("no description")
			}
		})
	}
	if n := len(Default().Names()); n != 8 {
		t.Fatalf("%d built-ins", n)
	}
}

func TestParseSchemaErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"not object", `{"type":"string"}`, "top-level type must be object"},
		{"unknown keyword", `{"type":"object","patternProperties":{}}`, "unknown field"},
		{"unsupported type", `{"type":"object","properties":{"a":{"type":"number"}}}`, "unsupported type"},
		{"required undeclared", `{"type":"object","required":["a"]}`, "not declared"},
		{"enum on integer", `{"type":"object","properties":{"a":{"type":"integer","enum":["x"]}}}`, "does not apply"},
		{"min > max", `{"type":"object","properties":{"a":{"type":"integer","minimum":3,"maximum":1}}}`, "minimum > maximum"},
		{"minLength > maxLength", `{"type":"object","properties":{"a":{"type":"string","minLength":3,"maxLength":1}}}`, "minLength > maxLength"},
		{"negative", `{"type":"object","properties":{"a":{"type":"string","minLength":-1}}}`, "negative"},
		{"array without items", `{"type":"object","properties":{"a":{"type":"array"}}}`, "without items"},
		{"null property", `{"type":"object","properties":{"a":null}}`, "null schema"},
		{"nested dialect", `{"type":"object","properties":{"a":{"$schema":"x","type":"string"}}}`, "only at the top level"},
		{"trailing", `{"type":"object"} {}`, "trailing"},
		{"not json", `{`, "invalid tool schema"},
		{"too deep", `{"type":"object","properties":{"a":` + strings.Repeat(`{"type":"array","items":`, 20) + `{"type":"string"}` + strings.Repeat("}", 20) + `}}`, "nested too deeply"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSchema([]byte(tc.src))
			if err == nil || !errors.Is(err, ErrSchema) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrSchema containing %q", err, tc.want)
			}
		})
	}
}

const testSchema = `{
 "type":"object","additionalProperties":false,"required":["name","n"],
 "properties":{
  "name":{"type":"string","minLength":1,"maxLength":5},
  "mode":{"type":"string","enum":["fast","slow"]},
  "n":{"type":"integer","minimum":1,"maximum":10},
  "flag":{"type":"boolean"},
  "tags":{"type":"array","items":{"type":"string","maxLength":3},"minItems":1,"maxItems":2}
 }}`

func TestValidate(t *testing.T) {
	s, err := ParseSchema([]byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, want string // want "" means valid
	}{
		{"minimal", `{"name":"a","n":1}`, ""},
		{"full", `{"name":"ééééé","n":10,"mode":"slow","flag":false,"tags":["a","bcd"]}`, ""},
		{"missing", `{"name":"a"}`, `input: missing required property "n"`},
		{"unknown", `{"name":"a","n":1,"x":1}`, `input: unknown property "x" (allowed: flag, mode, n, name, tags)`},
		{"case differs", `{"name":"a","n":1,"Name":"b"}`, `unknown property "Name"`},
		{"wrong type", `{"name":1,"n":1}`, "name: must be a string, got number"},
		{"too short", `{"name":"","n":1}`, "name: must be at least 1 characters long"},
		{"too long runes", `{"name":"éééééé","n":1}`, "name: must be at most 5 characters long"},
		{"enum", `{"name":"a","n":1,"mode":"medium"}`, "mode: must be one of fast, slow"},
		{"fraction", `{"name":"a","n":1.5}`, "n: must be a whole number"},
		{"exponent", `{"name":"a","n":1e2}`, "n: must be a whole number"},
		{"huge", `{"name":"a","n":99999999999999999999}`, "n: must be a whole number"},
		{"below", `{"name":"a","n":0}`, "n: must be >= 1"},
		{"above", `{"name":"a","n":11}`, "n: must be <= 10"},
		{"string int", `{"name":"a","n":"1"}`, "n: must be an integer, got string"},
		{"bool", `{"name":"a","n":1,"flag":"yes"}`, "flag: must be a boolean, got string"},
		{"array type", `{"name":"a","n":1,"tags":"x"}`, "tags: must be an array"},
		{"array empty", `{"name":"a","n":1,"tags":[]}`, "tags: must have at least 1 items"},
		{"array long", `{"name":"a","n":1,"tags":["a","b","c"]}`, "tags: must have at most 2 items"},
		{"array item", `{"name":"a","n":1,"tags":["abcd"]}`, "tags[0]: must be at most 3 characters long"},
		{"null", `null`, "input: must be an object, got null"},
		{"array top", `[]`, "input: must be an object, got array"},
		{"null value", `{"name":null,"n":1}`, "name: must be a string, got null"},
		{"not json", `{"name":`, "not valid JSON"},
		{"trailing", `{"name":"a","n":1} x`, "trailing data"},
		{"several sorted", `{"n":0,"mode":1}`, `input: missing required property "name"; mode: must be a string, got number; n: must be >= 1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Validate([]byte(tc.in))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	var many strings.Builder
	many.WriteString(`{"name":"a","n":1`)
	for i := range 20 {
		many.WriteString(`,"x` + strings.Repeat("y", i) + `":1`)
	}
	many.WriteString("}")
	if err := s.Validate([]byte(many.String())); err == nil || !strings.Contains(err.Error(), "and 10 more problems") {
		t.Fatalf("problems not capped: %v", err)
	}
}

func TestValidateInput(t *testing.T) {
	err := ValidateInput(tool(t, "read_file"), json.RawMessage(`{"path":5}`))
	wantCode(t, err, CodeInvalidInput)
	if !strings.Contains(err.Error(), "read_file: invalid_input: path: must be a string") {
		t.Fatalf("message: %v", err)
	}
	wantCode(t, ValidateInput(tool(t, "read_file"), json.RawMessage(`{"path":"x"}`)), "")
}

// FuzzParseSchema: any input either parses into a schema that validates
// without panicking and round-trips, or is refused with ErrSchema.
func FuzzParseSchema(f *testing.F) {
	f.Add([]byte(testSchema))
	for _, tl := range Builtins() {
		f.Add([]byte(tl.Schema()))
	}
	f.Add([]byte(`{"type":"object","properties":{"a":{"type":"array","items":{"type":"array","items":{"type":"boolean"}}}}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := ParseSchema(src)
		if err != nil {
			if !errors.Is(err, ErrSchema) {
				t.Fatalf("error without ErrSchema: %v", err)
			}
			return
		}
		_ = s.Validate([]byte(`{"a":[1,"x",true,null,{}],"b":"s","c":3}`))
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseSchema(raw); err != nil {
			t.Fatalf("re-parse of %s: %v", raw, err)
		}
	})
}

// FuzzValidate: for every built-in schema, an input the validator accepts
// decodes into the tool's input struct (so validation and decoding agree),
// and nothing panics.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`{"path":"a.txt","offset":1,"limit":2}`, `{"path":"x","content":"y"}`,
		`{"command":"git","args":["status"]}`, `{"url":"https://example.com"}`,
		`{"to_pid":3,"text":"hi"}`, `{"name":"n","task":"t"}`, `{"recursive":true,"max_depth":2}`,
		`{"path":"a","old_string":"b","new_string":"c","replace_all":true}`, `{"n":1e400}`, `[`, `{"path":"a","path":1}`,
	} {
		for i := range Builtins() {
			f.Add(i, []byte(s))
		}
	}
	tools := Builtins()
	f.Fuzz(func(t *testing.T, i int, in []byte) {
		if i < 0 {
			i = -i
		}
		tl := tools[i%len(tools)]
		err := ValidateInput(tl, in)
		if err != nil {
			if ErrorCode(err) != CodeInvalidInput {
				t.Fatalf("code %s", ErrorCode(err))
			}
			return
		}
		// Action decodes the input after validating it; a decode failure
		// would mean the validator accepted something the tool cannot use.
		_, err = tl.Action(nil, in)
		if err != nil && strings.Contains(err.Error(), "cannot decode input") {
			t.Fatalf("validated input does not decode: %s: %v", in, err)
		}
	})
}
