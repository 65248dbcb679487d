package localapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	http "github.com/weftos/weftos/internal/localhttp"
)

// MaxBody is the largest request body the API accepts.
const MaxBody = 4 << 20

// bodyTimeout bounds how long a client may take to send a request body: a
// slow or stalled body must not hold a connection (and a goroutine) open.
var bodyTimeout = 10 * time.Second

// errDuplicateKey and errTrailing are the strict-JSON violations DecodeBody
// reports besides encoding/json's own errors.
var (
	errDuplicateKey = errors.New("duplicate object member")
	errTrailing     = errors.New("data after the JSON value")
)

// DecodeBody decodes a JSON body strictly — unknown fields, duplicate
// member names and anything after the value are errors — with a MaxBody cap
// and a deadline for receiving it. It writes the error response itself and
// reports success.
func DecodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyTimeout)) // unsupported only in tests' recorders
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		// The deadline stays: the connection is closed after the answer
		// instead of waiting for the rest of a stalled body.
		w.Header().Set("Connection", "close")
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			WriteError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body: larger than %d bytes", MaxBody))
			return false
		}
		WriteError(w, http.StatusBadRequest, "invalid_argument", "request body: "+err.Error())
		return false
	}
	_ = rc.SetReadDeadline(time.Time{}) // streams that follow must not time out
	if err := decodeStrict(data, v); err != nil {
		WriteError(w, http.StatusBadRequest, "invalid_argument", "request body: "+err.Error())
		return false
	}
	return true
}

// decodeStrict decodes one JSON value into v, rejecting unknown fields,
// duplicate member names at any depth and trailing data.
func decodeStrict(data []byte, v any) error {
	if err := checkStrict(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// checkStrict walks the tokens of data: exactly one value, and no object
// with two members of the same name.
func checkStrict(data []byte) error {
	type frame struct {
		obj     bool
		wantKey bool
		keys    map[string]struct{}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []frame
	done := false
	// valueDone marks the end of a value in the enclosing container.
	valueDone := func() {
		if len(stack) == 0 {
			done = true
			return
		}
		if top := &stack[len(stack)-1]; top.obj {
			top.wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if !done {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			return err
		}
		if done {
			return errTrailing
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{obj: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default: // '}' or ']'
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if top := len(stack) - 1; top >= 0 && stack[top].obj && stack[top].wantKey {
				f := &stack[top]
				if f.keys == nil {
					f.keys = make(map[string]struct{})
				}
				if _, dup := f.keys[t]; dup {
					return fmt.Errorf("%w %q", errDuplicateKey, t)
				}
				f.keys[t] = struct{}{}
				f.wantKey = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}
