package llm

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// A non-streamed chat completion is decoded for every model call. The
// common shape is read here directly, without encoding/json's reflection
// (a dozen allocations fewer per response); anything this reader is not
// sure to read exactly as encoding/json would — a member name differing
// from a field's only in case, a repeated member, a \u escape, invalid
// UTF-8, a value of another type, a number that is not a plain integer —
// makes it give up, and encoding/json decodes the body instead.
// FuzzOAResponseDecode checks that whenever it succeeds the result equals
// encoding/json's.

// decodeFast decodes a complete, valid JSON text (the caller checked it
// with json.Valid) into r, which must be zero. It reports false, leaving
// r zero, when encoding/json must do it.
func (r *oaResponse) decodeFast(data []byte) bool {
	if r.decodeFastInto(data) {
		return true
	}
	*r = oaResponse{}
	return false
}

func (r *oaResponse) decodeFastInto(data []byte) bool {
	d := jsonReader{b: data}
	ok := d.members([]string{"id", "model", "choices", "usage"}, func(i int) bool {
		switch i {
		case 0:
			return d.str(&r.ID)
		case 1:
			return d.str(&r.Model)
		case 2:
			if d.null() {
				r.Choices = nil
				return true
			}
			r.Choices = make([]oaChoice, 0, 1)
			return d.array(func() bool {
				r.Choices = append(r.Choices, oaChoice{})
				c := &r.Choices[len(r.Choices)-1]
				if d.null() {
					return true
				}
				return d.members([]string{"message", "finish_reason"}, func(i int) bool {
					if i == 1 {
						return d.str(&c.FinishReason)
					}
					if d.null() {
						return true
					}
					m := &c.Message
					return d.members([]string{"content", "refusal", "tool_calls"}, func(i int) bool {
						switch i {
						case 0:
							return d.strPtr(&m.Content)
						case 1:
							return d.strPtr(&m.Refusal)
						}
						if d.null() {
							m.ToolCalls = nil
							return true
						}
						m.ToolCalls = make([]oaToolCall, 0)
						return d.array(func() bool {
							m.ToolCalls = append(m.ToolCalls, oaToolCall{})
							return d.toolCall(&m.ToolCalls[len(m.ToolCalls)-1])
						})
					})
				})
			})
		}
		if d.null() {
			r.Usage = nil
			return true
		}
		r.Usage = new(oaUsage)
		return d.usage(r.Usage)
	})
	return ok && d.end()
}

func (d *jsonReader) toolCall(tc *oaToolCall) bool {
	if d.null() {
		return true
	}
	return d.members([]string{"id", "type", "function"}, func(i int) bool {
		switch i {
		case 0:
			return d.str(&tc.ID)
		case 1:
			return d.str(&tc.Type)
		}
		if d.null() {
			return true
		}
		return d.members([]string{"name", "arguments"}, func(i int) bool {
			if i == 0 {
				return d.str(&tc.Function.Name)
			}
			return d.str(&tc.Function.Arguments)
		})
	})
}

func (d *jsonReader) usage(u *oaUsage) bool {
	return d.members([]string{"prompt_tokens", "completion_tokens", "prompt_tokens_details"}, func(i int) bool {
		switch i {
		case 0:
			return d.int(&u.PromptTokens)
		case 1:
			return d.int(&u.CompletionTokens)
		}
		if d.null() {
			u.PromptTokensDetails = nil
			return true
		}
		u.PromptTokensDetails = new(oaTokenDetails)
		return d.members([]string{"cached_tokens"}, func(i int) bool {
			return d.int(&u.PromptTokensDetails.CachedTokens)
		})
	})
}

// members reads an object, handing each member named in names to read
// with its index in names and skipping the others. It gives up (false) on
// a name given twice, or one only a case-insensitive or non-ASCII match
// would take: encoding/json's rules for those, which the fallback applies.
func (d *jsonReader) members(names []string, read func(i int) bool) bool {
	var seen uint64 // names has at most 64 entries
	return d.object(func(key []byte) bool {
		i := fieldIndex(key, names...)
		switch {
		case i == -1:
			d.skip()
			return true
		case i < 0 || seen&(1<<i) != 0:
			return false
		}
		seen |= 1 << i
		return read(i)
	})
}

// fieldIndex returns the index of the name key is, -1 when it is none
// of them (the member is ignored), or -2 when it equals one only up to
// case or is not plain ASCII (encoding/json matches names without regard
// to case: let it decide).
func fieldIndex(key []byte, names ...string) int {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return -2
		}
	}
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return -2
		}
	}
	return -1
}

// jsonReader reads a valid JSON text (see decodeFast).
type jsonReader struct {
	b []byte
	i int
}

func (d *jsonReader) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// end reports whether only white space follows.
func (d *jsonReader) end() bool {
	d.ws()
	return d.i == len(d.b)
}

// null consumes a null, reporting whether there was one.
func (d *jsonReader) null() bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == 'n' {
		d.i += len("null")
		return true
	}
	return false
}

// object calls member for each member of an object, the reader being
// after the member's colon; member must consume the value.
func (d *jsonReader) object(member func(key []byte) bool) bool {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	d.i++
	d.ws()
	if d.b[d.i] == '}' {
		d.i++
		return true
	}
	for {
		d.ws()
		key, ok := d.rawString()
		if !ok {
			return false
		}
		d.ws()
		d.i++ // ':'
		if !member(key) {
			return false
		}
		d.ws()
		c := d.b[d.i]
		d.i++
		if c == '}' {
			return true
		}
	}
}

// array calls elem for each element of an array; elem must consume it.
func (d *jsonReader) array(elem func() bool) bool {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '[' {
		return false
	}
	d.i++
	d.ws()
	if d.b[d.i] == ']' {
		d.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		d.ws()
		c := d.b[d.i]
		d.i++
		if c == ']' {
			return true
		}
	}
}

// rawString returns a string's bytes without its quotes, if it has no
// escapes.
func (d *jsonReader) rawString() ([]byte, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	start := d.i + 1
	n := bytes.IndexByte(d.b[start:], '"')
	if n < 0 || bytes.IndexByte(d.b[start:start+n], '\\') >= 0 {
		return nil, false
	}
	d.i = start + n + 1
	return d.b[start : start+n], true
}

// str decodes a string (null leaves *s as it is, as encoding/json does).
func (d *jsonReader) str(s *string) bool {
	if d.null() {
		return true
	}
	v, ok := d.stringValue()
	if ok {
		*s = v
	}
	return ok
}

// strPtr decodes a string or null into a *string.
func (d *jsonReader) strPtr(p **string) bool {
	if d.null() {
		*p = nil
		return true
	}
	v, ok := d.stringValue()
	if ok {
		*p = &v
	}
	return ok
}

// stringValue decodes a string with the escapes \" \\ \/ \b \f \n \r \t
// and valid UTF-8; anything else reports false.
func (d *jsonReader) stringValue() (string, bool) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	start := d.i + 1
	j := start
	ascii, escaped := true, false
	for {
		c := d.b[j]
		if c == '"' {
			break
		}
		if c == '\\' {
			escaped = true
			j += 2
			continue
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
		j++
	}
	raw := d.b[start:j]
	d.i = j + 1
	if !ascii && !utf8.Valid(raw) {
		return "", false
	}
	if !escaped {
		return string(raw), true
	}
	out := make([]byte, 0, len(raw))
	for k := 0; k < len(raw); k++ {
		c := raw[k]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		k++
		switch raw[k] {
		case '"', '\\', '/':
			out = append(out, raw[k])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default: // \u
			return "", false
		}
	}
	return string(out), true
}

// int decodes an integer literal (null leaves *n as it is).
func (d *jsonReader) int(n *int) bool {
	if d.null() {
		return true
	}
	d.ws()
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			break
		}
		d.i++
	}
	v, err := strconv.ParseInt(string(d.b[start:d.i]), 10, strconv.IntSize)
	if err != nil {
		return false
	}
	*n = int(v)
	return true
}

// skip consumes any value.
func (d *jsonReader) skip() {
	d.ws()
	depth := 0
	for {
		switch d.b[d.i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case '"':
			d.i++
			for d.b[d.i] != '"' {
				if d.b[d.i] == '\\' {
					d.i++
				}
				d.i++
			}
		default: // a number, true, false or null; or white space, ',' or ':' inside an object or array
			if depth == 0 {
				for d.i < len(d.b) {
					switch d.b[d.i] {
					case ',', '}', ']', ' ', '\t', '\n', '\r':
						return
					}
					d.i++
				}
				return
			}
		}
		d.i++
		if depth == 0 {
			return
		}
	}
}
