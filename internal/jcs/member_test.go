package jcs

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
)

func TestMember(t *testing.T) {
	obj := []byte(` { "a" : "x" , "n":null, "b":{"c":[1,{"d":"}"}],"e":{"f":"g\"h"}}, "u":42, "t":true, "s":"a\u00e9", "neg":-1 } `)
	for _, tc := range []struct {
		path []string
		raw  string
		ok   bool
	}{
		{[]string{"a"}, `"x"`, true},
		{[]string{"n"}, ``, false},
		{[]string{"zz"}, ``, false},
		{[]string{"b", "c"}, `[1,{"d":"}"}]`, true},
		{[]string{"b", "e", "f"}, `"g\"h"`, true},
		{[]string{"b", "x", "f"}, ``, false},
		{[]string{"n", "f"}, ``, false},
	} {
		raw, ok, err := Member(obj, tc.path...)
		if err != nil || ok != tc.ok || string(raw) != tc.raw {
			t.Errorf("Member(%v) = %s, %v, %v; want %s, %v", tc.path, raw, ok, err, tc.raw, tc.ok)
		}
	}
	if s, err := MemberString(obj, "b", "e", "f"); err != nil || s != `g"h` {
		t.Errorf("MemberString = %q, %v", s, err)
	}
	if s, err := MemberString(obj, "s"); err != nil || s != "aé" {
		t.Errorf("MemberString escaped = %q, %v", s, err)
	}
	if n, err := MemberUint(obj, "u"); err != nil || n != 42 {
		t.Errorf("MemberUint = %d, %v", n, err)
	}
	if b, err := MemberBool(obj, "t"); err != nil || !b {
		t.Errorf("MemberBool = %v, %v", b, err)
	}
	for _, bad := range [][]string{{"u", "x"}, {"a", "x"}} {
		if _, _, err := Member(obj, bad...); err == nil {
			t.Errorf("Member(%v) through a non-object: no error", bad)
		}
	}
	if _, err := MemberUint(obj, "neg"); err == nil {
		t.Error("MemberUint(-1): no error")
	}
	if _, err := MemberString(obj, "u"); err == nil {
		t.Error("MemberString(number): no error")
	}
	for _, bad := range []string{``, `[]`, `{"a"}`, `{"a":}`, `{"a":1`, `{"a":"x`, `{"a":1 "b":2}`, `{"a":[1}`, "{\"a\":\"\x01\"}"} {
		if _, _, err := Member([]byte(bad), "b"); err == nil {
			t.Errorf("Member(%q): no error", bad)
		}
	}
}

// FuzzMember checks Member against encoding/json on valid objects without
// duplicate names, and that it never panics on anything.
func FuzzMember(f *testing.F) {
	f.Add([]byte(`{"action_id":"a1","request":{"pid":7,"context":{"extra":{"call_id":"c"}}}}`), "action_id", "pid")
	f.Add([]byte(`{"a\u0062":1,"x":[{"}":"]"}],"y":null}`), "ab", "x")
	f.Add([]byte(` {"s":"\ud83d\ude00\\","n":-1.5e3,"t":true} `), "s", "n")
	f.Fuzz(func(t *testing.T, data []byte, name, inner string) {
		raw, ok, err := Member(data, name)
		_, _, _ = Member(data, name, inner)
		_, _ = MemberString(data, name)
		_, _ = MemberUint(data, name, inner)
		if _, cerr := Canonicalize(data); cerr != nil || !json.Valid(data) {
			return // not valid, or duplicate names
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) != nil || m == nil {
			if err == nil && ok {
				t.Fatalf("Member(%q) of a non-object found %s", name, raw)
			}
			return
		}
		if err != nil {
			t.Fatalf("Member(%q): %v on a valid object", name, err)
		}
		want, present := m[name]
		want = bytes.TrimSpace(want)
		if present && string(want) == "null" {
			present = false
		}
		if ok != present || (ok && !bytes.Equal(raw, want)) {
			t.Fatalf("Member(%q) = %s, %v; encoding/json %s, %v", name, raw, ok, want, present)
		}
		for k, v := range m {
			got, gok, gerr := Member(data, k)
			v = bytes.TrimSpace(v)
			if gerr != nil || gok != (string(v) != "null") || (gok && !bytes.Equal(got, v)) {
				t.Fatalf("Member(%q) = %s, %v, %v; encoding/json %s", k, got, gok, gerr, v)
			}
			var s string
			if json.Unmarshal(v, &s) == nil && string(v) != "null" {
				if gs, err := MemberString(data, k); err != nil || gs != s {
					t.Fatalf("MemberString(%q) = %q, %v; encoding/json %q", k, gs, err, s)
				}
			}
		}
	})
}

// FuzzMembers checks that Members answers as Member does, name by name,
// and fails exactly when one of Member's answers is an error.
func FuzzMembers(f *testing.F) {
	f.Add([]byte(`{"action_id":"a1","request":{"pid":7},"x":null}`), "action_id", "request", "x")
	f.Add([]byte(`{"a\u0062":1,"x":[{"}":"]"}],"y":null}`), "ab", "y", "ab")
	f.Add([]byte(`{"a":1,"b":2 "c":3}`), "a", "c", "b")
	f.Add([]byte(` null `), "a", "b", "c")
	f.Fuzz(func(t *testing.T, data []byte, a, b, c string) {
		names := []string{a, b, c}
		raws := make([][]byte, len(names))
		err := Members(data, names, raws)
		var anyErr bool
		for i, name := range names {
			raw, ok, merr := Member(data, name)
			anyErr = anyErr || merr != nil
			if merr == nil && err == nil && (ok != (raws[i] != nil) || !bytes.Equal(raw, raws[i])) {
				t.Fatalf("Members: %q = %q; Member: %q, %v", name, raws[i], raw, ok)
			}
		}
		if anyErr != (err != nil) {
			t.Fatalf("Members error %v; Member errors: %v", err, anyErr)
		}
	})
}

// TestSpecial8: the word-at-a-time test of skipString against the byte
// rule, on words mixing quotes, backslashes, control characters and
// their neighbours.
func TestSpecial8(t *testing.T) {
	pick := []byte{0, 1, 0x1f, 0x20, 0x21, '"', '"' + 1, '\\', '\\' - 1, '\\' + 1, 'a', 0x7f, 0x80, 0x9f, 0xa0, 0xdc, 0xe2, 0xff}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50000 {
		var x uint64
		want := false
		for i := range 8 {
			c := pick[rng.IntN(len(pick))]
			if rng.IntN(3) == 0 {
				c = 'a' + byte(rng.IntN(26))
			}
			want = want || c == '"' || c == '\\' || c < 0x20
			x |= uint64(c) << (8 * i)
		}
		if special8(x) != want {
			t.Fatalf("special8(%#x) = %v", x, !want)
		}
	}
}
