package xref

import (
	"encoding/hex"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/weftos/weftos/internal/jcs"
	"github.com/zeebo/blake3"
)

// Field is one member of flat content made of strings and unsigned
// integers — the shape of most ids (a session's name, a process's node and
// pid, a chain event's chain id, seq and hash). EntityFields and
// EventFields hash such content without reflection and give the same id
// as Entity and Event given the equivalent map.
type Field struct {
	Name  string
	str   string
	hash  [32]byte
	num   uint64
	isNum bool
	isHex bool
}

// Str is a string member.
func Str(name, v string) Field { return Field{Name: name, str: v} }

// Hash32 is a string member holding a 32-byte hash in lowercase hex,
// written without making the string.
func Hash32(name string, h [32]byte) Field { return Field{Name: name, hash: h, isHex: true} }

// Uint is an unsigned integer member.
func Uint(name string, v uint64) Field { return Field{Name: name, num: v, isNum: true} }

func (f Field) value() any {
	switch {
	case f.isNum:
		return f.num
	case f.isHex:
		return hex.EncodeToString(f.hash[:])
	}
	return f.str
}

// maxFields bounds the content EntityFields writes without reflection.
const maxFields = 8

// EntityFields is Entity(typ, the object of fields).
func EntityFields(typ string, fields ...Field) (ID, error) { return sumFields(typ, nil, fields) }

// EventFields is Event(typ, ts, the object of fields).
func EventFields(typ string, ts time.Time, fields ...Field) (ID, error) {
	n := ts.UnixNano()
	return sumFields(typ, &n, fields)
}

var canonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// sumFields writes {"content":{…},"ts":…,"type":…} canonically (members
// in UTF-16 order: content < ts < type) and hashes it. Content it cannot
// write that way (names that are not valid UTF-8, duplicates, too many
// fields) takes the general path, so the id is the same either way.
func sumFields(typ string, ts *int64, fields []Field) (ID, error) {
	if typ == "" {
		return ID{}, fmt.Errorf("%w: empty type", ErrBadID)
	}
	var order [maxFields]int
	if len(fields) > maxFields {
		return sumGeneral(typ, ts, fields)
	}
	for i, f := range fields {
		if !utf8.ValidString(f.Name) {
			return sumGeneral(typ, ts, fields)
		}
		// Insertion sort of the member names.
		j := i
		for ; j > 0; j-- {
			c := jcs.CompareNames(fields[order[j-1]].Name, f.Name)
			if c == 0 {
				return sumGeneral(typ, ts, fields)
			}
			if c < 0 {
				break
			}
			order[j] = order[j-1]
		}
		order[j] = i
	}
	bp := canonBufs.Get().(*[]byte)
	// The domain prefix and the canonical bytes, hashed in one call.
	b := append(append((*bp)[:0], domain...), `{"content":{`...)
	for i, k := range order[:len(fields)] {
		if i > 0 {
			b = append(b, ',')
		}
		f := fields[k]
		b = jcs.AppendString(b, f.Name)
		b = append(b, ':')
		switch {
		case f.isNum:
			b = jcs.AppendUint(b, f.num)
		case f.isHex:
			b = append(b, '"')
			b = hex.AppendEncode(b, f.hash[:])
			b = append(b, '"')
		default:
			b = jcs.AppendString(b, f.str)
		}
	}
	b = append(b, '}')
	if ts != nil {
		b = append(b, `,"ts":`...)
		b = jcs.AppendInt(b, *ts)
	}
	b = append(b, `,"type":`...)
	b = jcs.AppendString(b, typ)
	b = append(b, '}')
	id := ID(blake3.Sum256(b))
	if cap(b) <= 4096 {
		*bp = b
		canonBufs.Put(bp)
	}
	return id, nil
}

func sumGeneral(typ string, ts *int64, fields []Field) (ID, error) {
	m := make(map[string]any, len(fields))
	for _, f := range fields {
		if _, dup := m[f.Name]; dup {
			return ID{}, fmt.Errorf("%w: duplicate field %q", ErrBadID, f.Name)
		}
		m[f.Name] = f.value()
	}
	var tsCopy *int64 // so that ts does not escape: the fast path's is on the stack
	if ts != nil {
		v := *ts
		tsCopy = &v
	}
	return sum(canonical{Type: typ, Content: m, TS: tsCopy})
}

func hashCanonical(b []byte) ID {
	h := blake3.New()
	_, _ = h.WriteString(domain)
	_, _ = h.Write(b)
	var id ID
	h.Sum(id[:0])
	return id
}
