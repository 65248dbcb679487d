package jcs

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
)

// Number vectors from RFC 8785 Appendix B.
func TestAppendNumberRFC8785(t *testing.T) {
	tests := []struct {
		bits uint64
		want string
	}{
		{0x0000000000000000, "0"},
		{0x8000000000000000, "0"},
		{0x0000000000000001, "5e-324"},
		{0x8000000000000001, "-5e-324"},
		{0x7fefffffffffffff, "1.7976931348623157e+308"},
		{0xffefffffffffffff, "-1.7976931348623157e+308"},
		{0x4340000000000000, "9007199254740992"},
		{0xc340000000000000, "-9007199254740992"},
		{0x4430000000000000, "295147905179352830000"},
		{0x44b52d02c7e14af5, "9.999999999999997e+22"},
		{0x44b52d02c7e14af6, "1e+23"},
		{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
		{0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{0x444b1ae4d6e2ef4f, "999999999999999900000"},
		{0x444b1ae4d6e2ef50, "1e+21"},
		{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
		{0x3eb0c6f7a0b5ed8d, "0.000001"},
		{0x41b3de4355555553, "333333333.3333332"},
		{0x41b3de4355555554, "333333333.33333325"},
		{0x41b3de4355555555, "333333333.3333333"},
		{0x41b3de4355555556, "333333333.3333334"},
		{0x41b3de4355555557, "333333333.33333343"},
		{0xbecbf647612f3696, "-0.0000033333333333333333"},
		{0x43143ff3c1cb0959, "1424953923781206.2"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got, err := AppendNumber(nil, math.Float64frombits(tt.bits))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("%#016x: got %s, want %s", tt.bits, got, tt.want)
			}
		})
	}
	for _, bits := range []uint64{0x7fffffffffffffff, 0x7ff0000000000000, 0xfff0000000000000} {
		if _, err := AppendNumber(nil, math.Float64frombits(bits)); !errors.Is(err, ErrNumber) {
			t.Errorf("%#016x: err = %v, want ErrNumber", bits, err)
		}
	}
}

func TestCanonicalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "rfc8785 3.2.2",
			in: `{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
			want: `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			name: "rfc8785 3.2.3 sorting",
			in: `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`,
			want: "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{name: "no html escaping", in: `"<a href=\"x\">&amp;</a>"`, want: `"<a href=\"x\">&amp;</a>"`},
		{name: "html escapes decoded", in: `"\u003c\u003e\u0026"`, want: `"<>&"`},
		{name: "nested", in: ` { "b" : [ 1 , { "d":1,"c" :2 } ] , "a" : {} } `, want: `{"a":{},"b":[1,{"c":2,"d":1}]}`},
		{name: "minus zero", in: `-0`, want: `0`},
		{name: "integers", in: `[0,-1,123456789012345,1234567890123456789]`, want: `[0,-1,123456789012345,1234567890123456800]`},
		{name: "exponent", in: `[1e2,1.5E-7,-2e+21]`, want: `[100,1.5e-7,-2e+21]`},
		{name: "control chars", in: `"\u0001\u001f\u007f"`, want: "\"\\u0001\\u001f\u007f\""},
		{name: "empty", in: `[[],{},""]`, want: `[[],{},""]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestCanonicalizeRejects(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"duplicate", `{"a":1,"a":2}`, ErrDuplicateKey},
		{"huge number", `1e400`, ErrNumber},
		{"trailing", `{} x`, ErrInvalid},
		{"leading zero", `[01]`, ErrInvalid},
		{"lone surrogate", `"\ud800"`, ErrInvalid},
		{"low surrogate first", `"\udc00\ud800"`, ErrInvalid},
		{"invalid utf8", "\"\xff\"", ErrInvalid},
		{"raw control", "\"\x01\"", ErrInvalid},
		{"bad escape", `"\x"`, ErrInvalid},
		{"unterminated", `{"a":[1,2`, ErrInvalid},
		{"empty", ``, ErrInvalid},
		{"bare minus", `-`, ErrInvalid},
		{"dot no digits", `1.`, ErrInvalid},
		{"nan", `NaN`, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Canonicalize([]byte(tt.in))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	deep := make([]byte, 0, 2*(MaxDepth+1))
	for i := 0; i <= MaxDepth; i++ {
		deep = append(deep, '[')
	}
	for i := 0; i <= MaxDepth; i++ {
		deep = append(deep, ']')
	}
	if _, err := Canonicalize(deep); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	if _, err := Canonicalize(deep[1 : len(deep)-1]); err != nil {
		t.Fatalf("depth %d rejected: %v", MaxDepth, err)
	}
}

func TestMarshal(t *testing.T) {
	got, err := Marshal(map[string]any{"z": 1.0, "a": "<tag>", "m": []int{3, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":"<tag>","m":[3,2],"z":1}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if _, err := Marshal(math.Inf(1)); err == nil {
		t.Fatal("Marshal(+Inf) succeeded")
	}
}

// FuzzCanonicalize checks that canonicalization never panics, agrees with
// encoding/json on validity for inputs json accepts as I-JSON, is idempotent
// and preserves the decoded value.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1e30,-0,0.1]`, `"\u20ac"`, `{"b":{"a":[true,false,null]}}`, `"\ud83d\ude00"`, `1E-7`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("canonical output is not valid JSON: %q", out)
		}
		again, err := Canonicalize(out)
		if err != nil {
			t.Fatalf("canonical output rejected: %v", err)
		}
		if string(again) != string(out) {
			t.Fatalf("not idempotent:\n%q\n%q", out, again)
		}
		var a, b any
		if json.Unmarshal(in, &a) != nil || json.Unmarshal(out, &b) != nil {
			t.Fatalf("encoding/json rejects input accepted by jcs: %q", in)
		}
		if !sameValue(a, b) {
			t.Fatalf("value changed: %v vs %v", a, b)
		}
	})
}

func ExampleCanonicalize() {
	out, err := Canonicalize([]byte(`{"b": 2.50, "a": "<x>", "c": 1E3}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(out))
	// Output: {"a":"<x>","b":2.5,"c":1000}
}

func BenchmarkCanonicalize(b *testing.B) {
	in := []byte(`{"pid":1234,"kind":"spawn","name":"agent-7","args":["--x","y"],"mem":1.5e9,"ok":true}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Canonicalize(in); err != nil {
			b.Fatal(err)
		}
	}
}

// sameValue compares decoded JSON values, treating -0 and 0 as equal.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !sameValue(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

func TestAppendersMatchMarshal(t *testing.T) {
	for _, s := range []string{"", "a", "é\u2028<>&\"\\\x01", "bad\xffutf8", "😀"} {
		want, err := Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
	for _, n := range []int64{0, -1, 42, 999999999999999, 1000000000000000, -1000000000000000, 1764835200123456789, -9223372036854775808} {
		want, _ := Marshal(n)
		if got := AppendInt(nil, n); string(got) != string(want) {
			t.Errorf("AppendInt(%d) = %s, want %s", n, got, want)
		}
	}
	for _, n := range []uint64{0, 7, 999999999999999, 1000000000000000, 18446744073709551615} {
		want, _ := Marshal(n)
		if got := AppendUint(nil, n); string(got) != string(want) {
			t.Errorf("AppendUint(%d) = %s, want %s", n, got, want)
		}
	}
	if CompareNames("a", "b") >= 0 || CompareNames("\U0001F600", "\uFFFF") >= 0 || CompareNames("x", "x") != 0 {
		t.Error("CompareNames does not order by UTF-16 code units")
	}
}
