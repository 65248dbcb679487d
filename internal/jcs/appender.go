package jcs

import "reflect"

// Appender is implemented by a record type that writes its own canonical
// form, without reflection: chain records written on every agent turn
// (governance.DecisionRecord, governance.ActRecord). AppendCanonical must
// append exactly what Marshal writes for the value — the canonical form of
// encoding/json's text — or return an error, and then Marshal takes its
// general path (encoding/json and Canonicalize), which gives the exact
// answer, error included. jcstest.CheckMarshal compares an implementation
// with that path; test every Appender with it on values that set every
// field.
type Appender interface {
	AppendCanonical(dst []byte) ([]byte, error)
}

var appenderType = reflect.TypeFor[Appender]()

// appenderDepth is the nesting an Appender may write below its value:
// one nested deeper than MaxDepth less this goes to the general path,
// which counts exactly.
const appenderDepth = 16

func appenderPlan(t reflect.Type) encodeFunc {
	return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return append(dst, "null"...), nil
		}
		if depth+appenderDepth > MaxDepth {
			return dst, errGeneral
		}
		a, ok := v.Interface().(Appender)
		if !ok {
			return dst, errGeneral
		}
		out, err := a.AppendCanonical(dst)
		if err != nil {
			return dst, errGeneral
		}
		return out, nil
	}
}

// AppendRaw appends the canonical form of raw JSON text found depth
// arrays and objects deep (as an object's member, depth is 1): the text
// itself when it is canonical already, else its canonicalization; nil is
// null, as json.RawMessage writes it.
func AppendRaw(dst, raw []byte, depth int) ([]byte, error) {
	if raw == nil {
		return append(dst, "null"...), nil
	}
	if isCanonicalAt(raw, depth) {
		return append(dst, raw...), nil
	}
	return appendCanonicalAt(dst, raw, depth)
}

// AppendStrings appends the canonical form of a []string (null when nil).
func AppendStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendGoString(dst, s)
	}
	return append(dst, ']')
}

// AppendStringMap appends the canonical form of a map[string]string (null
// when nil). Keys that differ only in invalid UTF-8 — equal once
// encoding/json has coerced them — are an error.
func AppendStringMap(dst []byte, m map[string]string) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	var stack [16]mapEntry[string]
	es := sortedEntries(stack[:0], m)
	dst = append(dst, '{')
	for i, e := range es {
		if i > 0 {
			if e.key == es[i-1].key {
				return dst, ErrDuplicateKey
			}
			dst = append(dst, ',')
		}
		dst = appendString(dst, e.key)
		dst = append(dst, ':')
		dst = appendGoString(dst, e.val)
	}
	return append(dst, '}'), nil
}

// AppendBool appends true or false.
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}

// AppendValue appends the canonical form of v, found depth arrays and
// objects deep, as Marshal's one pass writes it: for an Appender that
// holds a value of any type. An error means the one pass cannot write v;
// the Appender returns it, and Marshal encodes the whole value by its
// general path.
func AppendValue(dst []byte, v any, depth int) ([]byte, error) {
	if v == nil {
		return append(dst, "null"...), nil
	}
	rv := reflect.ValueOf(v)
	f := planFor(rv.Type())
	if f == nil {
		return dst, errGeneral
	}
	return f(dst, rv, depth)
}
