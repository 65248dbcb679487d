package chain

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/weftos/weftos/internal/jcs/jcstest"
)

// checkRawPayload compares CanonicalPayload of raw JSON with the reference
// canonicalizer's output and checks the result is the log's own copy.
func checkRawPayload(t *testing.T, in []byte) {
	t.Helper()
	want, werr := jcstest.Canonicalize(in)
	if string(want) == "null" {
		want = nil
	}
	for _, v := range []any{json.RawMessage(in), in} {
		got, err := CanonicalPayload(v)
		if len(in) == 0 {
			if got != nil || err != nil {
				t.Fatalf("CanonicalPayload(empty) = %q, %v", got, err)
			}
			continue
		}
		if (err == nil) != (werr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("CanonicalPayload(%q) = %q, %v; reference %q, %v", in, got, err, want, werr)
		}
		if err != nil && !errors.Is(err, ErrInvalidEvent) {
			t.Fatalf("CanonicalPayload(%q): %v, not ErrInvalidEvent", in, err)
		}
		if len(got) > 0 && len(in) > 0 && &got[0] == &in[0] {
			t.Fatalf("CanonicalPayload(%q) returned the caller's buffer", in)
		}
	}
}

// TestCanonicalPayloadRaw: raw JSON payloads, canonical or not, give the
// canonical bytes (canonical ones are copied, not re-encoded).
func TestCanonicalPayloadRaw(t *testing.T) {
	for _, s := range []string{``, `null`, ` null`, `{"a":1,"b":[1,2]}`, `{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a":1.50}`, `"\u0041"`,
		`{"a":`, "\"\xff\"", `1e400`, `[1e21,1e-7,0.1]`} {
		checkRawPayload(t, []byte(s))
	}
}

func FuzzCanonicalPayloadRaw(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[1,2]}`, `{"b":1,"a":2}`, `null`, `{"\u20ac":1,"😀":2}`, "[\"\\u001f\",-0]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkRawPayload(t, in)
		if out, err := jcstest.Canonicalize(in); err == nil {
			checkRawPayload(t, out)
		}
	})
}
