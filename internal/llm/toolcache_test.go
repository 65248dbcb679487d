package llm

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestToolCache(t *testing.T) {
	calls := 0
	encode := func(specs []ToolSpec) ([]byte, error) {
		calls++
		return marshalBody(specs)
	}
	params := json.RawMessage(`{"type":"object"}`)
	specs := []ToolSpec{{Name: "a", Description: "A.", Parameters: params}, {Name: "b"}}
	var c toolCache
	steps := []struct {
		name      string
		before    func()
		specs     []ToolSpec
		wantCalls int
		want      string
	}{
		{"first use encodes", nil, specs, 1, `"type":"object"`},
		{"same list is cached", nil, specs, 1, `"type":"object"`},
		{"an equal copy is cached", nil, []ToolSpec{{Name: "a", Description: "A.", Parameters: json.RawMessage(`{"type":"object"}`)}, {Name: "b"}}, 1, `"type":"object"`},
		{"another description", nil, []ToolSpec{{Name: "a", Description: "B.", Parameters: params}, {Name: "b"}}, 2, `"B."`},
		{"schema changed in place", func() { copy(params[8:], `"string"}`) }, specs, 3, `"type":"string"`},
		{"no tools", nil, nil, 3, ""},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		got, err := c.encoded(st.specs, encode)
		if err != nil {
			t.Fatal(err)
		}
		if calls != st.wantCalls || !strings.Contains(string(got), st.want) {
			t.Fatalf("%s: %d encodings (want %d), got %s", st.name, calls, st.wantCalls, got)
		}
	}
	for i := range maxToolEncodings + 1 {
		if _, err := c.encoded([]ToolSpec{{Name: strings.Repeat("x", i+1)}}, encode); err != nil {
			t.Fatal(err)
		}
	}
	if c.n > maxToolEncodings {
		t.Fatalf("cache holds %d encodings, bound %d", c.n, maxToolEncodings)
	}
}

func TestBodyWithTools(t *testing.T) {
	type whole struct {
		A     string          `json:"a"`
		Tools json.RawMessage `json:"tools,omitempty"`
		B     int             `json:"b,omitempty"`
		C     string          `json:"c,omitempty"`
	}
	type head struct {
		A string `json:"a"`
	}
	type tail struct {
		B int    `json:"b,omitempty"`
		C string `json:"c,omitempty"`
	}
	for _, tc := range []struct {
		tools []byte
		b     int
		c     string
	}{{nil, 0, ""}, {[]byte(`[{"x":1}]`), 0, ""}, {nil, 3, "<&>"}, {[]byte(`[]`), 3, ""}} {
		got, err := bodyWithTools(head{"h"}, tc.tools, tail{tc.b, tc.c})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := marshalBody(whole{A: "h", Tools: tc.tools, B: tc.b, C: tc.c})
		if string(got) != string(want) {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}
