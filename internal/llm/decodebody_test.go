package llm

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

// errReader yields data, then fails.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, e.err
	}
	return n, err
}

// TestDecodeJSONBodyAsDecoder checks decodeJSONBody against a json.Decoder
// reading the same body: same value, same success or failure.
func TestDecodeJSONBodyAsDecoder(t *testing.T) {
	for _, body := range []string{
		`{"id":"x","n":1}`,
		"{\"id\":\"x\"}\n",
		`{"id":"x"} trailing`,
		`{"id":"x"}{"id":"y"}`,
		`{"id":`,
		`{"id":1}`,
		``,
		`[1,2]`,
	} {
		type v struct {
			ID string `json:"id"`
			N  int    `json:"n"`
		}
		var got, want v
		gerr := decodeJSONBody(strings.NewReader(body), &got)
		werr := json.NewDecoder(strings.NewReader(body)).Decode(&want)
		if (gerr == nil) != (werr == nil) || got != want {
			t.Errorf("%q: %+v, %v; decoder %+v, %v", body, got, gerr, want, werr)
		}
	}
	boom := errors.New("connection reset")
	var v struct{ ID string }
	if err := decodeJSONBody(&errReader{strings.NewReader(`{"ID":"x"}`), boom}, &v); err != nil || v.ID != "x" {
		t.Errorf("a read error after a whole value: %v", err)
	}
	if err := decodeJSONBody(&errReader{strings.NewReader(`{"ID":"x`), boom}, &v); !errors.Is(err, boom) {
		t.Errorf("a read error inside the value: %v, want it reported", err)
	}
}
