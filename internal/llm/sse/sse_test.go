package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type ev struct {
	typ, data, id string
	retry         int
}

func decodeAll(t testing.TB, r io.Reader, max int) ([]ev, error) {
	t.Helper()
	d := NewDecoder(r, max)
	var out []ev
	for {
		e, err := d.Next()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		out = append(out, ev{e.Type, string(e.Data), e.ID, e.Retry})
	}
}

func TestDecoder(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []ev
		err  error
	}{
		{"openai chunk", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []ev{{"", `{"a":1}`, "", -1}, {"", "[DONE]", "", -1}}, nil},
		{"anthropic event", "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", []ev{{"message_stop", `{"type":"message_stop"}`, "", -1}}, nil},
		{"multi-line data", "data: a\ndata:b\ndata:  c\n\n", []ev{{"", "a\nb\n c", "", -1}}, nil},
		{"crlf", "event: x\r\ndata: 1\r\n\r\n", []ev{{"x", "1", "", -1}}, nil},
		{"lone cr", "event: x\rdata: 1\r\rdata: 2\r\r", []ev{{"x", "1", "", -1}, {"", "2", "", -1}}, nil},
		{"comments and keep-alives", ": hi\n\n:ping\ndata: x\n\n", []ev{{"", "x", "", -1}}, nil},
		{"event without data is dropped", "event: ping\n\ndata: y\n\n", []ev{{"", "y", "", -1}}, nil},
		{"id and retry persist", "id: 7\nretry: 1500\ndata: a\n\ndata: b\n\n", []ev{{"", "a", "7", 1500}, {"", "b", "7", 1500}}, nil},
		{"bad retry ignored", "retry: 1x\ndata: a\n\n", []ev{{"", "a", "", -1}}, nil},
		{"id with NUL ignored", "id: a\x00b\ndata: a\n\n", []ev{{"", "a", "", -1}}, nil},
		{"field without colon", "data\n\n", []ev{{"", "", "", -1}}, nil},
		{"unknown field ignored", "foo: bar\ndata: a\n\n", []ev{{"", "a", "", -1}}, nil},
		{"bom", "\xEF\xBB\xBFdata: a\n\n", []ev{{"", "a", "", -1}}, nil},
		{"colon in value", "data: {\"k\":\"v: w\"}\n\n", []ev{{"", `{"k":"v: w"}`, "", -1}}, nil},
		{"unterminated event discarded", "data: a\n\ndata: partial", []ev{{"", "a", "", -1}}, io.ErrUnexpectedEOF},
		{"unterminated comment is clean", "data: a\n\n: bye", []ev{{"", "a", "", -1}}, nil},
		{"empty", "", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Byte-at-a-time reads exercise every split boundary.
			for _, r := range []io.Reader{strings.NewReader(tc.in), iotest.OneByteReader(strings.NewReader(tc.in))} {
				got, err := decodeAll(t, r, 0)
				if !errors.Is(err, tc.err) && err != tc.err {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Fatalf("event %d: got %+v, want %+v", i, got[i], tc.want[i])
					}
				}
			}
		})
	}
}

func TestDecoderCaps(t *testing.T) {
	long := "data: " + strings.Repeat("x", 100) + "\n\n"
	if _, err := decodeAll(t, strings.NewReader(long), 64); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long line: err = %v", err)
	}
	many := strings.Repeat("data: 0123456789\n", 10) + "\n"
	if _, err := decodeAll(t, strings.NewReader(many), 64); !errors.Is(err, ErrTooLong) {
		t.Fatalf("long event: err = %v", err)
	}
	exact := "data: " + strings.Repeat("y", 58) + "\n\n" // line of exactly 64 bytes
	got, err := decodeAll(t, strings.NewReader(exact), 64)
	if err != nil || len(got) != 1 {
		t.Fatalf("line at cap: %v %v", got, err)
	}
	// After an error the decoder stays failed.
	d := NewDecoder(strings.NewReader(long+"data: ok\n\n"), 64)
	if _, err := d.Next(); !errors.Is(err, ErrTooLong) {
		t.Fatal(err)
	}
	if _, err := d.Next(); !errors.Is(err, ErrTooLong) {
		t.Fatalf("decoder recovered after cap: %v", err)
	}
}

func TestDecoderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom))
	got, err := decodeAll(t, r, 0)
	if !errors.Is(err, boom) || len(got) != 1 {
		t.Fatalf("got %v %v", got, err)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	var b bytes.Buffer
	evs := []Event{{Type: "a", Data: []byte("x\ny")}, {Data: []byte("")}, {ID: "9", Data: []byte("{}")}}
	for _, e := range evs {
		if err := Encode(&b, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := decodeAll(t, &b, 0)
	if err != nil || len(got) != 3 || got[0] != (ev{"a", "x\ny", "", -1}) || got[1].data != "" || got[2] != (ev{"", "{}", "9", -1}) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
}

// FuzzDecoder: arbitrary input never panics, never yields an event larger
// than the cap, and events written with Encode decode unchanged whatever
// the read chunking.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte("event: a\r\ndata: b\r\r\ndata: c\n\n:x\n"), []byte("payload\nline2"), "t")
	f.Add([]byte("\xEF\xBB\xBF\r\r\n\n"), []byte(""), "")
	f.Add([]byte("retry: 10\nid: 1\ndata\n\n"), []byte("{\"a\":1}"), "message_start")
	f.Fuzz(func(t *testing.T, raw []byte, data []byte, typ string) {
		const max = 256
		d := NewDecoder(bytes.NewReader(raw), max)
		for i := 0; i < len(raw)+1; i++ {
			e, err := d.Next()
			if err != nil {
				break
			}
			if len(e.Data) > max {
				t.Fatalf("event of %d bytes exceeds cap", len(e.Data))
			}
		}
		if strings.ContainsAny(typ, "\r\n") || bytes.ContainsRune(data, '\r') {
			return
		}
		var b bytes.Buffer
		if err := Encode(&b, Event{Type: typ, Data: data}); err != nil {
			t.Fatal(err)
		}
		got, err := decodeAll(t, iotest.HalfReader(&b), 0)
		wantType := typ
		if err != nil || len(got) != 1 || got[0].data != string(data) || got[0].typ != wantType {
			// A type with a leading space loses it, as the spec strips one.
			if !(len(got) == 1 && strings.HasPrefix(typ, " ") && got[0].typ == typ[1:]) {
				t.Fatalf("round trip of %q/%q: %+v %v", typ, data, got, err)
			}
		}
	})
}
