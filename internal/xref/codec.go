package xref

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrFormat reports a malformed persisted batch.
var ErrFormat = errors.New("xref: malformed batch")

// Limits of the persisted format.
const (
	MaxString  = 4096    // bytes in a type, key or relation
	maxEntries = 1 << 20 // nodes or links in one batch
	batchV1    = 1
)

// Node is one identified structure.
type Node struct {
	ID ID `json:"id"`
	// Type names what it is: "chain.event", "memory.record", "session",
	// "tool.call", "process", "action", "graph.node", …
	Type string `json:"type"`
	// Key is a unique human handle ("seq:42", "session:s1", "pid:7") that
	// Resolve accepts in place of the id; may be empty.
	Key string `json:"key,omitempty"`
}

// Link is a directed, typed cross-reference, with the chain seq of the
// event that established it.
type Link struct {
	From ID     `json:"from"`
	To   ID     `json:"to"`
	Rel  string `json:"rel"`
	Seq  uint64 `json:"seq"`
}

// Batch is what one Apply adds: nodes, links, and the chain position
// (the next seq to index) it brings the index to.
type Batch struct {
	Nodes   []Node
	Links   []Link
	Through uint64
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// EncodeBatch is a batch's persisted form.
func EncodeBatch(b Batch) []byte { return AppendBatch(nil, b) }

// AppendBatch appends a batch's persisted form to dst.
func AppendBatch(dst []byte, b Batch) []byte {
	out := append(dst, batchV1)
	out = binary.AppendUvarint(out, b.Through)
	out = binary.AppendUvarint(out, uint64(len(b.Nodes)))
	for _, n := range b.Nodes {
		out = append(out, n.ID[:]...)
		out = appendString(out, n.Type)
		out = appendString(out, n.Key)
	}
	out = binary.AppendUvarint(out, uint64(len(b.Links)))
	for _, l := range b.Links {
		out = append(out, l.From[:]...)
		out = append(out, l.To[:]...)
		out = appendString(out, l.Rel)
		out = binary.AppendUvarint(out, l.Seq)
	}
	return out
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("%w: bad varint", ErrFormat)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) id() ID {
	var id ID
	if d.err != nil {
		return id
	}
	if len(d.b) < len(id) {
		d.err = fmt.Errorf("%w: short id", ErrFormat)
		return id
	}
	copy(id[:], d.b)
	d.b = d.b[len(id):]
	return id
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > MaxString || n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%w: string of %d bytes", ErrFormat, n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) count(min int) int {
	n := d.uvarint()
	if d.err == nil && (n > maxEntries || n*uint64(min) > uint64(len(d.b))) {
		d.err = fmt.Errorf("%w: %d entries in %d bytes", ErrFormat, n, len(d.b))
	}
	if d.err != nil {
		return 0
	}
	return int(n)
}

// DecodeBatch parses a persisted batch.
func DecodeBatch(data []byte) (Batch, error) {
	if len(data) == 0 || data[0] != batchV1 {
		return Batch{}, fmt.Errorf("%w: unknown version", ErrFormat)
	}
	d := &decoder{b: data[1:]}
	var b Batch
	b.Through = d.uvarint()
	if n := d.count(34); n > 0 {
		b.Nodes = make([]Node, n)
		for i := range b.Nodes {
			b.Nodes[i] = Node{ID: d.id(), Type: d.str(), Key: d.str()}
		}
	}
	if n := d.count(66); n > 0 {
		b.Links = make([]Link, n)
		for i := range b.Links {
			b.Links[i] = Link{From: d.id(), To: d.id(), Rel: d.str(), Seq: d.uvarint()}
		}
	}
	if d.err != nil {
		return Batch{}, d.err
	}
	if len(d.b) != 0 {
		return Batch{}, fmt.Errorf("%w: %d trailing bytes", ErrFormat, len(d.b))
	}
	return b, nil
}
