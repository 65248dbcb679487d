package jcs

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

type textKind uint8

func (k textKind) MarshalText() ([]byte, error) {
	if k == 9 {
		return nil, errors.New("bad kind")
	}
	return []byte([]string{"zero", "one", "tw\xffo"}[k%3]), nil
}

type jsonName string

func (n jsonName) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"n": string(n)})
}

type ptrMarshaler struct{ X int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"ptr"`), nil }

type inner struct {
	Zeta  float64           `json:"zeta"`
	Alpha string            `json:"alpha,omitempty"`
	Extra map[string]string `json:"extra,omitempty"`
	Kind  textKind          `json:"kind"`
}

type record struct {
	ID       string          `json:"id"`
	Count    int64           `json:"count,omitempty"`
	Big      uint64          `json:"big"`
	OK       bool            `json:"ok"`
	Inner    inner           `json:"inner"`
	Ptr      *inner          `json:"ptr,omitempty"`
	List     []inner         `json:"list"`
	Names    []string        `json:"names,omitempty"`
	Raw      json.RawMessage `json:"raw,omitempty"`
	Any      any             `json:"any"`
	Name     jsonName        `json:"name"`
	When     time.Time       `json:"when"`
	Euro     int             `json:"€uro"`
	Untagged string
	Bad      string `json:"a\"b"`
	Skip     string `json:"-"`
	Dash     string `json:"-,"`
	hidden   int
}

type embeds struct {
	inner
	B int `json:"b"`
}

type withString struct {
	N int `json:"n,string"`
}

type cyclic struct {
	Next *cyclic `json:"next"`
}

type list struct {
	Items []any `json:"items"`
}

func deep(n int) any {
	var v any = 1
	for range n {
		v = []any{v}
	}
	return v
}

func rawDeep(n int) json.RawMessage {
	return json.RawMessage(strings.Repeat("[", n) + "1" + strings.Repeat("]", n))
}

// TestEncoderMatchesGeneral: the one-pass encoder gives what encoding/json
// and Canonicalize give — or sends the value to them.
func TestEncoderMatchesGeneral(t *testing.T) {
	cyc := &cyclic{}
	cyc.Next = cyc
	full := record{ID: "id <&> \u2028 \xff", Count: -42, Big: 1 << 60, OK: true,
		Inner: inner{Zeta: 0.1, Alpha: "a", Extra: map[string]string{"b": "2", "a": "1", "é": "3", "\U0001F600": "4", "\uffff": "5"}, Kind: 2},
		Ptr:   &inner{Zeta: -0}, List: []inner{{Zeta: 1e21}, {Zeta: 1e-7, Kind: 1}}, Names: []string{"x"},
		Raw: json.RawMessage(` { "b" : 1.50, "a" : [ 1E3 ] } `), Any: map[string]any{"k": []any{1.0, "s", nil, true}},
		Name: "n", When: time.Date(2026, 12, 4, 1, 2, 3, 4, time.UTC), Euro: 1, Untagged: "u", Bad: "b", Skip: "s", Dash: "d", hidden: 1}
	tests := []struct {
		name    string
		v       any
		onePass bool // the one-pass encoder handles it (else: the general path)
	}{
		{"nil", nil, true},
		{"record", full, true},
		{"pointer to record", &full, true},
		{"zero record", record{}, true},
		{"numbers", []any{int64(math.MaxInt64), int64(-999999999999999), int64(-9999999999999999), uint64(math.MaxUint64), 123456789012345, 5e-324, math.MaxFloat64}, true},
		{"map with keys that collide once made valid", map[string]int{"a\xff": 1, "a\xfe": 2}, false},
		{"map with any values", map[string]any{"z": map[string]any{}, "y": []any{}, "x": (*inner)(nil)}, true},
		{"nil map and slice", struct {
			M map[string]int
			S []int
		}{}, true},
		{"nil marshaler interfaces", struct {
			M json.Marshaler
			T encoding.TextMarshaler
			P *ptrMarshaler
		}{}, true},
		{"invalid tag name", struct {
			A int `json:"a\\b"`
			B int `json:",omitempty"`
		}{A: 1}, true},
		{"array", [3]string{"c", "b", "a"}, true},
		{"bytes", []byte("hi"), false},
		{"float32", float32(0.1), false},
		{"NaN", math.NaN(), false},
		{"infinity in a struct", inner{Zeta: math.Inf(-1)}, false},
		{"text marshaler error", inner{Kind: 9}, false},
		{"embedded struct", embeds{inner: inner{Alpha: "x"}, B: 2}, false},
		{"string option", withString{N: 3}, false},
		{"pointer-receiver marshaler", ptrMarshaler{X: 1}, false},
		{"pointer-receiver marshaler by pointer", &ptrMarshaler{X: 1}, true},
		{"pointer-receiver marshaler in a slice", []ptrMarshaler{{1}}, false},
		{"cycle", cyc, false},
		{"deep but allowed", deep(MaxDepth - 1), true},
		{"too deep", deep(MaxDepth + 1), false},
		{"raw JSON too deep inside", list{Items: []any{rawDeep(MaxDepth - 1)}}, false},
		{"raw JSON nil", json.RawMessage(nil), true},
		{"raw JSON empty", json.RawMessage{}, false},
		{"raw JSON invalid", json.RawMessage(`{"a":`), false},
		{"raw JSON duplicate keys", json.RawMessage(`{"a":1,"a":2}`), false},
		{"channel", make(chan int), false},
		{"interface holding a func", []any{func() {}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := marshalGeneral(tc.v)
			got, gerr := Marshal(tc.v)
			if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("Marshal: %s, %v\ngeneral: %s, %v", got, gerr, want, werr)
			}
			if _, err := appendValue(nil, tc.v); (err == nil) != tc.onePass {
				t.Fatalf("one-pass encoder: %v, want handled=%v", err, tc.onePass)
			}
		})
	}
}

// TestEncoderHandlesCommonTypes: the types of chain records take the
// one-pass encoder, not the general path.
func TestEncoderHandlesCommonTypes(t *testing.T) {
	type decision struct {
		ActionID string          `json:"action_id"`
		Inner    inner           `json:"inner"`
		Caps     []string        `json:"caps,omitempty"`
		Detail   json.RawMessage `json:"detail,omitempty"`
		When     time.Time       `json:"when"`
		Any      any             `json:"any"`
	}
	for _, v := range []any{decision{Detail: json.RawMessage(`{"a":1}`), Any: map[string]any{"a": 1}}, inner{Kind: 1},
		map[string]string{"a": "b"}, []any{1, "x", true, nil}} {
		if _, err := appendValue(nil, v); err != nil {
			t.Errorf("%T: %v", v, err)
		}
	}
}

// FuzzEncoder compares the one-pass encoder with the general path on
// values built from fuzzed strings, numbers and raw JSON.
func FuzzEncoder(f *testing.F) {
	f.Add("a", "b", int64(1), uint64(2), 1.5, []byte(`{"x":[1,2]}`), uint8(1))
	f.Add("\xff\xfe", "\u2028<>", int64(math.MinInt64), uint64(math.MaxUint64), math.Inf(1), []byte(`{"a":1,"a":2}`), uint8(9))
	f.Add("é", "e", int64(-0), uint64(0), -0.0, []byte(``), uint8(0))
	f.Fuzz(func(t *testing.T, s1, s2 string, i int64, u uint64, fl float64, raw []byte, k uint8) {
		v := record{ID: s1, Count: i, Big: u, Inner: inner{Zeta: fl, Alpha: s2, Extra: map[string]string{s1: s2, s2: s1}, Kind: textKind(k)},
			Raw: raw, Any: map[string]any{s2: []any{s1, fl, i}}, Name: jsonName(s2), Names: []string{s1, s2}}
		if len(raw) == 0 {
			v.Raw = nil
		}
		want, werr := marshalGeneral(v)
		got, gerr := Marshal(v)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("Marshal: %s, %v\ngeneral: %s, %v", got, gerr, want, werr)
		}
		// Whatever encoding/json accepts here, the one-pass encoder writes
		// itself (the comparison above is not the general path against
		// itself).
		if _, err := appendValue(nil, v); werr == nil && err != nil {
			t.Fatalf("one-pass encoder refused a value the general path encodes: %v", err)
		}
	})
}

func BenchmarkMarshalRecord(b *testing.B) {
	v := record{ID: "14c4eace-5", Inner: inner{Zeta: 0.1673320053068151, Alpha: "no rule matched", Extra: map[string]string{"provider": "openai", "loopback": "true"}},
		Names: []string{"can_ipc", "can_exec_tools", "can_network"}, Any: "x"}
	b.Run("one-pass", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := marshalGeneral(v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
