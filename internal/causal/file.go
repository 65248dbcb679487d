package causal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/weftos/weftos/internal/recfile"
)

// Magic is the header of the graph file.
const Magic = "WCAUSAL1"

// Errors of the persisted form.
var (
	// ErrFormat reports a malformed edge record.
	ErrFormat = errors.New("causal: malformed edge record")
	// ErrCorrupt reports a graph file that cannot be loaded (other than a
	// torn tail, which is cut): the owner rebuilds it from the chain.
	ErrCorrupt = errors.New("causal: graph file corrupt")
)

const edgeRecordLen = 1 + 32 + 32 + 1 + 4 + 8*4

// EncodeEdge is an edge's persisted form.
func EncodeEdge(e Edge) []byte {
	b := make([]byte, 0, edgeRecordLen)
	b = append(b, 1)
	b = append(b, e.From[:]...)
	b = append(b, e.To[:]...)
	b = append(b, byte(e.Type))
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(e.Weight))
	b = binary.LittleEndian.AppendUint64(b, e.Seq)
	b = binary.LittleEndian.AppendUint64(b, uint64(e.ValidFrom))
	b = binary.LittleEndian.AppendUint64(b, uint64(e.ValidTo))
	return binary.LittleEndian.AppendUint64(b, uint64(e.Recorded))
}

// DecodeEdge parses a persisted edge.
func DecodeEdge(b []byte) (Edge, error) {
	if len(b) != edgeRecordLen || b[0] != 1 {
		return Edge{}, fmt.Errorf("%w: %d bytes", ErrFormat, len(b))
	}
	var e Edge
	copy(e.From[:], b[1:33])
	copy(e.To[:], b[33:65])
	e.Type = Type(b[65])
	e.Weight = math.Float32frombits(binary.LittleEndian.Uint32(b[66:]))
	e.Seq = binary.LittleEndian.Uint64(b[70:])
	e.ValidFrom = int64(binary.LittleEndian.Uint64(b[78:]))
	e.ValidTo = int64(binary.LittleEndian.Uint64(b[86:]))
	e.Recorded = int64(binary.LittleEndian.Uint64(b[94:]))
	if !e.Type.Valid() {
		return Edge{}, fmt.Errorf("%w: type %d", ErrFormat, b[65])
	}
	return e, nil
}

// Store is a graph persisted in a record file: every added edge is
// appended (and written to the OS) before Add returns; Sync makes the
// appended edges durable — the owner calls it at most once per tick.
type Store struct {
	*Graph
	file    *recfile.File
	through uint64 // chain position covered at the last Sync
}

// markerLen is a sync marker: 2, then the chain position (uint64).
const markerLen = 9

// Open loads the graph at path (created if missing). A torn tail is cut:
// the owner re-applies the edges recorded on the chain after MaxSeq.
func Open(path string) (*Store, error) {
	f, recs, _, err := recfile.Open(path, Magic)
	if errors.Is(err, recfile.ErrCorrupt) {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err != nil {
		return nil, fmt.Errorf("causal: %w", err)
	}
	g := New()
	s := &Store{Graph: g, file: nil}
	for i, r := range recs {
		if len(r) == markerLen && r[0] == 2 {
			s.through = binary.LittleEndian.Uint64(r[1:])
			continue
		}
		e, err := DecodeEdge(r)
		if err == nil {
			_, _, err = g.Add(e)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%w: %s: record %d: %w", ErrCorrupt, path, i, err)
		}
	}
	s.file = f
	g.sink = func(e Edge) error {
		if err := f.Append(EncodeEdge(e)); err != nil {
			return err
		}
		return f.Flush()
	}
	return s, nil
}

// Sync makes every added edge durable, with a marker saying the graph
// holds every edge recorded on the chain below through.
func (s *Store) Sync(through uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if through > s.through {
		if err := s.file.Append(binary.LittleEndian.AppendUint64([]byte{2}, through)); err != nil {
			return err
		}
		s.through = through
	}
	return s.file.Sync()
}

// Through is the chain position of the last Sync: edges recorded on the
// chain from there on may be missing after a crash, and are re-applied by
// the owner.
func (s *Store) Through() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.through
}

// Close syncs and closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sink = func(Edge) error { return recfile.ErrClosed }
	return s.file.Close()
}
