package jcs

import (
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The encoder writes the canonical form of a Go value directly, for the
// types whose encoding/json form it reproduces exactly: booleans, integers,
// float64, strings, pointers, interfaces, slices and arrays (not of
// bytes), maps with string keys, structs without embedded fields or the
// ",string"/",omitzero" options, and types implementing json.Marshaler
// or encoding.TextMarshaler on the value. Marshal uses it and falls back
// to encoding/json and Canonicalize for anything else, or whenever it
// meets a value it does not handle the way encoding/json would (an error,
// a cycle, a map whose keys collide): its output is always what
// Canonicalize(json.Marshal(v)) would be.

// errGeneral sends a value to the general path (encoding/json, then
// Canonicalize).
var errGeneral = errors.New("jcs: needs the general encoder")

type encodeFunc func(dst []byte, v reflect.Value, depth int) ([]byte, error)

var (
	plans         sync.Map // reflect.Type → encodeFunc (nil: not handled)
	marshalerType = reflect.TypeFor[json.Marshaler]()
	textType      = reflect.TypeFor[encoding.TextMarshaler]()
	rawType       = reflect.TypeFor[json.RawMessage]()
	stringMapType = reflect.TypeFor[map[string]string]()
	anyMapType    = reflect.TypeFor[map[string]any]()
)

// appendValue appends v's canonical form, or returns errGeneral.
func appendValue(dst []byte, v any) ([]byte, error) {
	if v == nil {
		return append(dst, "null"...), nil
	}
	if a, ok := v.(Appender); ok {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return append(dst, "null"...), nil
		}
		return a.AppendCanonical(dst)
	}
	rv := reflect.ValueOf(v)
	f := planFor(rv.Type())
	if f == nil {
		return dst, errGeneral
	}
	return f(dst, rv, 0)
}

// planFor returns the encoder of t, nil if t is not handled.
func planFor(t reflect.Type) encodeFunc {
	if f, ok := plans.Load(t); ok {
		return f.(encodeFunc)
	}
	// A recursive type refers to its own plan while it is being built:
	// it finds this indirection, resolved once the plan is done.
	var (
		wg   sync.WaitGroup
		real encodeFunc
	)
	wg.Add(1)
	indirect := encodeFunc(func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		wg.Wait()
		if real == nil {
			return dst, errGeneral
		}
		return real(dst, v, depth)
	})
	if f, loaded := plans.LoadOrStore(t, indirect); loaded {
		return f.(encodeFunc)
	}
	real = buildPlan(t)
	wg.Done()
	plans.Store(t, real)
	return real
}

func buildPlan(t reflect.Type) encodeFunc {
	if t == rawType {
		return rawPlan
	}
	if t.Implements(appenderType) {
		return appenderPlan(t)
	}
	if t.Implements(marshalerType) {
		return marshalerPlan(t)
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(marshalerType) {
		return nil // encoding/json uses the method only on addressable values
	}
	if t.Implements(textType) {
		return textPlan(t)
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textType) {
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(dst []byte, v reflect.Value, _ int) ([]byte, error) {
			if v.Bool() {
				return append(dst, "true"...), nil
			}
			return append(dst, "false"...), nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(dst []byte, v reflect.Value, _ int) ([]byte, error) { return appendInt(dst, v.Int()) }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(dst []byte, v reflect.Value, _ int) ([]byte, error) { return appendUint(dst, v.Uint()) }
	case reflect.Float64:
		return func(dst []byte, v reflect.Value, _ int) ([]byte, error) {
			out, err := AppendNumber(dst, v.Float())
			if err != nil {
				return dst, errGeneral
			}
			return out, nil
		}
	case reflect.String:
		return func(dst []byte, v reflect.Value, _ int) ([]byte, error) { return appendGoString(dst, v.String()), nil }
	case reflect.Pointer:
		return pointerPlan(t)
	case reflect.Interface:
		return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
			if v.IsNil() {
				return append(dst, "null"...), nil
			}
			e := v.Elem()
			f := planFor(e.Type())
			if f == nil {
				return dst, errGeneral
			}
			return f(dst, e, depth)
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // bytes encode as base64 (or as arrays, for named byte types)
		}
		return listPlan(t)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil
		}
		return mapPlan(t)
	case reflect.Struct:
		return structPlan(t)
	}
	return nil // float32, complex, channels, functions, unsafe pointers
}

func marshalerPlan(t reflect.Type) encodeFunc {
	return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return append(dst, "null"...), nil
		}
		m, ok := v.Interface().(json.Marshaler)
		if !ok {
			return append(dst, "null"...), nil // a nil json.Marshaler interface, as encoding/json writes it
		}
		b, err := m.MarshalJSON()
		if err != nil {
			return dst, errGeneral
		}
		out, err := appendCanonicalAt(dst, b, depth)
		if err != nil {
			return dst, errGeneral
		}
		return out, nil
	}
}

// rawPlan writes a json.RawMessage: as it is when it is canonical
// already (a payload Marshal encoded), else canonicalized. Its depth
// counts toward MaxDepth either way.
func rawPlan(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	b := v.Bytes()
	if b == nil {
		return append(dst, "null"...), nil // as RawMessage.MarshalJSON
	}
	if isCanonicalAt(b, depth) {
		return append(dst, b...), nil
	}
	out, err := appendCanonicalAt(dst, b, depth)
	if err != nil {
		return dst, errGeneral
	}
	return out, nil
}

func textPlan(t reflect.Type) encodeFunc {
	return func(dst []byte, v reflect.Value, _ int) ([]byte, error) {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return append(dst, "null"...), nil
		}
		m, ok := v.Interface().(encoding.TextMarshaler)
		if !ok {
			return append(dst, "null"...), nil
		}
		b, err := m.MarshalText()
		if err != nil {
			return dst, errGeneral
		}
		if utf8.Valid(b) {
			return appendString(dst, b), nil
		}
		return appendGoString(dst, string(b)), nil
	}
}

func pointerPlan(t reflect.Type) encodeFunc {
	f := planFor(t.Elem())
	return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		if depth > MaxDepth {
			return dst, errGeneral // deep, or a cycle: encoding/json decides
		}
		if f == nil {
			return dst, errGeneral
		}
		return f(dst, v.Elem(), depth+1)
	}
}

func listPlan(t reflect.Type) encodeFunc {
	isSlice := t.Kind() == reflect.Slice
	f := planFor(t.Elem())
	return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		if isSlice && v.IsNil() {
			return append(dst, "null"...), nil
		}
		if depth++; depth > MaxDepth {
			return dst, errGeneral
		}
		if f == nil {
			return dst, errGeneral
		}
		dst = append(dst, '[')
		for i := range v.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = f(dst, v.Index(i), depth); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	}
}

func mapPlan(t reflect.Type) encodeFunc {
	switch t {
	case stringMapType:
		return stringMapPlan
	case anyMapType:
		return anyMapPlan
	}
	type entry struct {
		key string
		v   reflect.Value
	}
	f := planFor(t.Elem())
	return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		if depth++; depth > MaxDepth {
			return dst, errGeneral
		}
		if f == nil {
			return dst, errGeneral
		}
		var stack [16]entry
		es := stack[:0]
		for it := v.MapRange(); it.Next(); {
			es = append(es, entry{validUTF8(it.Key().String()), it.Value()})
		}
		slices.SortFunc(es, func(a, b entry) int { return compareNames(a.key, b.key) })
		dst = append(dst, '{')
		for i, e := range es {
			if i > 0 {
				if e.key == es[i-1].key {
					return dst, errGeneral // keys that differ only in invalid bytes
				}
				dst = append(dst, ',')
			}
			dst = appendString(dst, e.key)
			dst = append(dst, ':')
			var err error
			if dst, err = f(dst, e.v, depth); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
}

// stringMapPlan and anyMapPlan are mapPlan for map[string]string and
// map[string]any, ranging over the map itself rather than through
// reflection (which copies every key and value to the heap).
func stringMapPlan(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	if !v.IsNil() && depth+1 > MaxDepth {
		return dst, errGeneral
	}
	out, err := AppendStringMap(dst, v.Interface().(map[string]string))
	if err != nil {
		return dst, errGeneral // keys that differ only in invalid bytes
	}
	return out, nil
}

func anyMapPlan(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	if v.IsNil() {
		return append(dst, "null"...), nil
	}
	if depth++; depth > MaxDepth {
		return dst, errGeneral
	}
	var stack [16]mapEntry[any]
	es := sortedEntries(stack[:0], v.Interface().(map[string]any))
	dst = append(dst, '{')
	for i, e := range es {
		if i > 0 {
			if e.key == es[i-1].key {
				return dst, errGeneral
			}
			dst = append(dst, ',')
		}
		dst = appendString(dst, e.key)
		dst = append(dst, ':')
		var err error
		if dst, err = appendAny(dst, e.val, depth); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendAny writes an interface value, as the plan of an interface type.
func appendAny(dst []byte, x any, depth int) ([]byte, error) {
	if x == nil {
		return append(dst, "null"...), nil
	}
	e := reflect.ValueOf(x)
	f := planFor(e.Type())
	if f == nil {
		return dst, errGeneral
	}
	return f(dst, e, depth)
}

type mapEntry[V any] struct {
	key string // valid UTF-8, as encoding/json coerces it
	val V
}

// sortedEntries appends m's entries to es in the order of their keys.
func sortedEntries[V any](es []mapEntry[V], m map[string]V) []mapEntry[V] {
	for k, x := range m {
		es = append(es, mapEntry[V]{validUTF8(k), x})
	}
	slices.SortFunc(es, func(a, b mapEntry[V]) int { return compareNames(a.key, b.key) })
	return es
}

type field struct {
	index     int
	key       []byte // canonical "name":
	omitEmpty bool
	plan      encodeFunc // nil: not handled
}

func structPlan(t reflect.Type) encodeFunc {
	var fields []field
	names := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil // embedded fields follow encoding/json's promotion rules
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validTagName(name) {
			name = sf.Name // encoding/json ignores an empty or invalid tag name
		}
		omit := false
		for opts != "" {
			var o string
			o, opts, _ = strings.Cut(opts, ",")
			switch o {
			case "omitempty":
				omit = true
			case "":
			default:
				return nil // ",string", ",omitzero", …
			}
		}
		if names[name] {
			return nil // encoding/json's rules for clashing names
		}
		names[name] = true
		fields = append(fields, field{index: i, key: append(appendString(nil, name), ':'), omitEmpty: omit, plan: planFor(sf.Type)})
	}
	slices.SortFunc(fields, func(a, b field) int {
		return compareNames(string(a.key[1:len(a.key)-2]), string(b.key[1:len(b.key)-2]))
	})
	return func(dst []byte, v reflect.Value, depth int) ([]byte, error) {
		if depth++; depth > MaxDepth {
			return dst, errGeneral
		}
		dst = append(dst, '{')
		first := true
		for _, fd := range fields {
			fv := v.Field(fd.index)
			if fd.omitEmpty && isEmpty(fv) {
				continue
			}
			f := fd.plan
			if f == nil {
				return dst, errGeneral
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, fd.key...)
			var err error
			if dst, err = f(dst, fv, depth); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	}
}

// validTagName is encoding/json's rule for a name in a json tag.
func validTagName(s string) bool {
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return s != ""
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// compareNames orders member names by their UTF-16 code units.
func compareNames(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] >= 0x80 || b[i] >= 0x80 {
			return compareUTF16([]byte(a[i:]), []byte(b[i:]))
		}
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return len(a) - len(b)
}

// appendInt writes an integer as Canonicalize writes the decimal text
// encoding/json gives it: as is up to 15 characters, otherwise as the
// nearest double.
func appendInt(dst []byte, n int64) ([]byte, error) {
	start := len(dst)
	dst = strconv.AppendInt(dst, n, 10)
	if len(dst)-start <= 15 {
		return dst, nil
	}
	return AppendNumber(dst[:start], float64(n))
}

func appendUint(dst []byte, n uint64) ([]byte, error) {
	start := len(dst)
	dst = strconv.AppendUint(dst, n, 10)
	if len(dst)-start <= 15 {
		return dst, nil
	}
	return AppendNumber(dst[:start], float64(n))
}

// appendGoString writes a Go string as encoding/json coerces it (each
// invalid byte replaced by U+FFFD), canonically escaped.
func appendGoString(dst []byte, s string) []byte { return appendString(dst, validUTF8(s)) }

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
