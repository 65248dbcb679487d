package llm

import (
	"bytes"
	"hash/maphash"
	"sync"
)

// toolCache remembers how a client encoded a list of tools. An agent
// offers the same tools, with the same JSON Schemas, in every request;
// validating and re-encoding them was most of the cost of building a
// request. A cached encoding is used only for a list equal to the one it
// was made from, field by field (the cache keeps its own copy of the
// schemas, so a caller changing a schema in place gets a fresh encoding).
type toolCache struct {
	mu   sync.Mutex
	seed maphash.Seed
	m    map[uint64][]toolEncoding
	n    int
}

type toolEncoding struct {
	specs []ToolSpec // deep copy
	enc   []byte
}

// maxToolEncodings bounds the cache; it is emptied when full.
const maxToolEncodings = 256

// encoded returns the encoding of specs, from the cache or from encode.
func (c *toolCache) encoded(specs []ToolSpec, encode func([]ToolSpec) ([]byte, error)) ([]byte, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	c.mu.Lock()
	if c.m == nil {
		c.seed, c.m = maphash.MakeSeed(), map[uint64][]toolEncoding{}
	}
	key := c.key(specs)
	for _, e := range c.m[key] {
		if SameTools(e.specs, specs) {
			c.mu.Unlock()
			return e.enc, nil
		}
	}
	c.mu.Unlock()
	enc, err := encode(specs)
	if err != nil {
		return nil, err
	}
	cp := CloneTools(specs)
	c.mu.Lock()
	if c.n >= maxToolEncodings {
		clear(c.m)
		c.n = 0
	}
	c.m[key] = append(c.m[key], toolEncoding{specs: cp, enc: enc})
	c.n++
	c.mu.Unlock()
	return enc, nil
}

// key hashes the tools' names and the sizes of their descriptions and
// schemas: cheap, and enough to tell different lists apart.
func (c *toolCache) key(specs []ToolSpec) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	for _, s := range specs {
		h.WriteString(s.Name)
		h.WriteByte(0)
		var n [16]byte
		putUint64(n[:], uint64(len(s.Description)))
		putUint64(n[8:], uint64(len(s.Parameters)))
		h.Write(n[:])
	}
	return h.Sum64()
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

// SameTools reports whether two tool lists are equal field by field (a
// nil and an empty schema are equal: both encode as none).
func SameTools(a, b []ToolSpec) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Description != b[i].Description || !bytes.Equal(a[i].Parameters, b[i].Parameters) {
			return false
		}
	}
	return true
}

// bodyWithTools encodes a request body whose "tools" member (tools, the
// encoded list; omitted when nil) comes between head's members and
// tail's, byte for byte as encoding one struct with those fields in that
// order would.
func bodyWithTools(head any, tools []byte, tail any) ([]byte, error) {
	b, err := marshalBody(head)
	if err != nil {
		return nil, err
	}
	t, err := marshalBody(tail)
	if err != nil {
		return nil, err
	}
	b = b[:len(b)-1] // without '}'
	if tools != nil {
		b = append(b, `,"tools":`...)
		b = append(b, tools...)
	}
	if len(t) > 2 {
		b = append(b, ',')
		b = append(b, t[1:]...)
	} else {
		b = append(b, '}')
	}
	return b, nil
}

// CloneTools is a deep copy of specs, schemas included (nil stays nil): a
// cache keeps one so that a caller changing a schema in place is noticed.
func CloneTools(specs []ToolSpec) []ToolSpec {
	if specs == nil {
		return nil
	}
	cp := make([]ToolSpec, len(specs))
	for i, s := range specs {
		cp[i] = ToolSpec{Name: s.Name, Description: s.Description, Parameters: bytes.Clone(s.Parameters)}
	}
	return cp
}
