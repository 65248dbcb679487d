package xref

import (
	"errors"
	"testing"
	"time"
)

// generalOf is the map the fields stand for.
func generalOf(fields []Field) map[string]any {
	m := map[string]any{}
	for _, f := range fields {
		m[f.Name] = f.value()
	}
	return m
}

func TestFieldsMatchGeneral(t *testing.T) {
	ts := time.Unix(1764835200, 123456789)
	for _, fields := range [][]Field{
		nil,
		{Str("name", "s1")},
		{Str("node", "n-1"), Uint("pid", 42)},
		{Uint("pid", 7), Str("call_id", "c\"1\\\u2028")},
		{Str("chain_id", "local"), Uint("seq", 1<<60), Str("hash", "ab")},
		{Uint("chain_id", 0), Uint("seq", 12), Hash32("hash", [32]byte{0, 0xab, 0xff, 31: 7})},
		{Str("é", "x"), Str("e", "y"), Str("\U0001F600", "z"), Str("\uFFFF", "w")},
		{Str("bad\xffname", "v"), Str("a", "bad\xfevalue")},
		{Str("a", "1"), Str("b", "2"), Str("c", "3"), Str("d", "4"), Str("e", "5"), Str("f", "6"), Str("g", "7"), Str("h", "8"), Str("i", "9")},
	} {
		got, err := EntityFields("session", fields...)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Entity("session", generalOf(fields))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("EntityFields(%v) = %s, Entity = %s", fields, got, want)
		}
		got, _ = EventFields("chain.event", ts, fields...)
		want, _ = Event("chain.event", ts, generalOf(fields))
		if got != want {
			t.Errorf("EventFields(%v) = %s, Event = %s", fields, got, want)
		}
	}
	if _, err := EntityFields("x", Str("a", "1"), Uint("a", 2)); !errors.Is(err, ErrBadID) {
		t.Errorf("duplicate member: %v, want ErrBadID", err)
	}
	if _, err := EntityFields("", Str("a", "1")); !errors.Is(err, ErrBadID) {
		t.Errorf("empty type: %v, want ErrBadID", err)
	}
}

// FuzzFields checks that the reflection-free canonical writer gives the
// id the general path gives, for any names, values, type and time.
func FuzzFields(f *testing.F) {
	f.Add("process", "node", "n1", "pid", uint64(7), int64(1764835200123456789))
	f.Add("x", "é", "\x00\u2028", "e", uint64(1<<53+1), int64(-1))
	f.Add("t\xff", "a", "b\xfe", "a", uint64(0), int64(0))
	f.Fuzz(func(t *testing.T, typ, n1, v1, n2 string, v2 uint64, ts int64) {
		fields := []Field{Str(n1, v1), Uint(n2, v2)}
		if v2%3 == 0 {
			var h [32]byte
			copy(h[:], v1)
			fields = append(fields, Hash32("hash", h))
		}
		got, gerr := EntityFields(typ, fields...)
		if n1 == n2 || (len(fields) == 3 && (n1 == "hash" || n2 == "hash")) {
			if gerr == nil {
				t.Fatal("duplicate member accepted")
			}
			return
		}
		want, werr := Entity(typ, generalOf(fields))
		if (gerr != nil) != (werr != nil) || got != want {
			t.Fatalf("EntityFields = %s, %v; Entity = %s, %v", got, gerr, want, werr)
		}
		at := time.Unix(0, ts)
		got, gerr = EventFields(typ, at, fields...)
		want, werr = Event(typ, at, generalOf(fields))
		if (gerr != nil) != (werr != nil) || got != want {
			t.Fatalf("EventFields = %s, %v; Event = %s, %v", got, gerr, want, werr)
		}
	})
}

func BenchmarkEntityFields(b *testing.B) {
	b.Run("fields", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_, _ = EntityFields("process", Str("node", "node-1"), Uint("pid", 42))
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_, _ = Entity("process", map[string]any{"node": "node-1", "pid": uint64(42)})
		}
	})
}
