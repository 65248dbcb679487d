package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// corruptError is a store's damage as an error: errors.Is(err, ErrCorrupt)
// holds, and errors.As(err, &p) yields the *Problem — the same kind,
// segment, offset and seq that Verify reports for the same damage.
type corruptError struct{ p *Problem }

func corrupt(p *Problem) error { return &corruptError{p: p} }

func (e *corruptError) Error() string {
	return "chain: store corrupt: " + strings.TrimPrefix(e.p.Error(), "chain: ")
}

// Unwrap makes errors.Is(err, ErrCorrupt) and errors.As(err, **Problem)
// true.
func (e *corruptError) Unwrap() []error { return []error{ErrCorrupt, e.p} }

// ackedHead is what the derived files say had been acknowledged to
// appenders before this open: the events and checkpoints whose frames were
// fsynced. index.dat rows and checkpoints.dat rows are written only after
// the segment fsync of their batch, so after a process crash they cover
// every acknowledged record (after a power loss they may lag, which only
// lowers the bound). A torn tail may cut only what lies beyond it.
type ackedHead struct {
	events uint64
	cps    uint64
	source string // the file the bound comes from
}

// readAckedHead reads the bound from state.json (already parsed), index.dat
// and checkpoints.dat. Rows are counted only as long as they are well
// formed and advance (a garbage file gives no false evidence). It must run
// before any table is opened (opening truncates untrusted rows).
func readAckedHead(dir string, st persistedState) ackedHead {
	h := ackedHead{events: st.Events, cps: st.Checkpoints, source: stateFile}
	if b, err := os.ReadFile(filepath.Join(dir, indexFile)); err == nil {
		var lastSeg, lastEnd uint64
		n := uint64(0)
		for i := 0; i+indexWidth <= len(b); i += indexWidth {
			seg := uint64(binary.LittleEndian.Uint32(b[i:]))
			off := uint64(binary.LittleEndian.Uint32(b[i+4:]))
			l := uint64(binary.LittleEndian.Uint32(b[i+8:]))
			if l <= frameHeaderLen || l > maxRecordLen+frameHeaderLen || seg < lastSeg || (seg == lastSeg && n > 0 && off < lastEnd) {
				break
			}
			lastSeg, lastEnd = seg, off+l
			n++
		}
		if n > h.events {
			h.events, h.source = n, indexFile
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, checkpointsFile)); err == nil {
		var lastSize, lastSeg, lastEnd uint64
		n := uint64(0)
		for i := 0; i+cpWidth <= len(b); i += cpWidth {
			size := binary.LittleEndian.Uint64(b[i:])
			seg := uint64(binary.LittleEndian.Uint32(b[i+8:]))
			off := uint64(binary.LittleEndian.Uint32(b[i+12:]))
			l := uint64(binary.LittleEndian.Uint32(b[i+16:]))
			if size == 0 || size < lastSize || l <= frameHeaderLen || l > maxRecordLen+frameHeaderLen ||
				seg < lastSeg || (seg == lastSeg && n > 0 && off < lastEnd) {
				break
			}
			lastSize, lastSeg, lastEnd = size, seg, off+l
			n++
		}
		if n > h.cps {
			h.cps = n
		}
		if lastSize > h.events {
			h.events, h.source = lastSize, checkpointsFile
		}
	}
	return h
}

// tailDamage classifies what ends the last segment early: at offset off
// (in segment name), after seq events and ncp checkpoints were read, with
// fe the frame error there (nil when the file simply ends) and tail the
// bytes from off on. It returns nil for a clean end, a ProblemTornTail for
// a torn write of unacknowledged records (repairable: truncated by a
// writable Open), and otherwise the damage.
func tailDamage(name string, off int64, seq, ncp uint64, fe *frameError, tail []byte, acked ackedHead) *Problem {
	lost := seq < acked.events || ncp < acked.cps
	switch {
	case fe == nil && !lost:
		return nil
	case fe == nil:
		return &Problem{Kind: ProblemTruncated, Seq: seq, Segment: name, Offset: off,
			Detail: fmt.Sprintf("the segment ends here but %d events and %d checkpoints were acknowledged (per %s); %d events and %d checkpoints remain",
				acked.events, acked.cps, acked.source, seq, ncp)}
	case !lost && validFrameAt(tail, 0):
		// Read again, the bad frame is whole: the file changed while it
		// was read — a running writer's records beyond the acknowledged
		// head this reader took (only a read-only open can see this; a
		// writer holds the lock).
		return &Problem{Kind: ProblemTornTail, Seq: seq, Segment: name, Offset: off,
			Detail: fmt.Sprintf("%s (being written: %d bytes after the last valid record, not yet acknowledged)", fe.Reason, len(tail))}
	case !fe.Torn && validFrameAfter(tail, 0):
		return &Problem{Kind: ProblemCorruptRecord, Seq: seq, Segment: name, Offset: off, Detail: fe.Reason + ", followed by valid records"}
	case !lost:
		return &Problem{Kind: ProblemTornTail, Seq: seq, Segment: name, Offset: off,
			Detail: fmt.Sprintf("%s (%d bytes after the last valid record, never acknowledged)", fe.Reason, len(tail))}
	case fe.Torn:
		return &Problem{Kind: ProblemTruncated, Seq: seq, Segment: name, Offset: off,
			Detail: fmt.Sprintf("%s; %d events were acknowledged (per %s) but only %d remain", fe.Reason, acked.events, acked.source, seq)}
	default:
		return &Problem{Kind: ProblemCorruptRecord, Seq: seq, Segment: name, Offset: off,
			Detail: fmt.Sprintf("%s in an acknowledged record (%d events acknowledged per %s)", fe.Reason, acked.events, acked.source)}
	}
}

// verifyPrefix reads every record below the persisted state (segments
// 0..st.Segment, up to st.Offset in the last) and checks it: frames and
// CRCs, segment headers, event seq continuity and prev_hash links (stored
// hashes), and the index and checkpoint rows against the records' places.
// Damaged segments are a *Problem; derived rows that disagree with intact
// segments are a stale reason (the tables are rebuilt).
func (s *store) verifyPrefix(st persistedState) (*Problem, string, error) {
	var seq, ncp uint64
	var prev Hash
	var row [cpWidth]byte
	names, err := listSegmentNames(s.dir)
	if err != nil {
		return nil, "", err
	}
	prevName, prevEnd := "", int64(0)
	for n := uint32(0); n <= st.Segment; n++ {
		name := segmentName(n)
		end := int64(1 << 62)
		if n == st.Segment {
			end = st.Offset
		}
		f, err := s.segFile(n)
		if errors.Is(err, os.ErrNotExist) {
			if len(names) > 0 && names[len(names)-1] > n {
				// A gap, as Verify words it.
				return &Problem{Kind: ProblemMissingSegment, Seq: seq, Detail: fmt.Sprintf("segment %s missing", name)}, "", nil
			}
			return &Problem{Kind: ProblemTruncated, Seq: seq, Segment: prevName, Offset: prevEnd,
				Detail: fmt.Sprintf("segment %s, which state.json records as written, is missing", name)}, "", nil
		}
		if err != nil {
			return nil, "", err
		}
		fi, err := f.Stat()
		if err != nil {
			return nil, "", fmt.Errorf("chain: stat %s: %w", name, err)
		}
		size := min(end, fi.Size())
		fr := newFrameReader(io.NewSectionReader(f, 0, size), 0, size)
		for first := true; ; first = false {
			off, body, err := fr.next()
			if err == io.EOF {
				if n == st.Segment && off < end {
					return &Problem{Kind: ProblemTruncated, Seq: seq, Segment: name, Offset: off,
						Detail: fmt.Sprintf("the segment ends here but state.json records data up to offset %d", end)}, "", nil
				}
				prevName, prevEnd = name, off
				break
			}
			var fe *frameError
			if errors.As(err, &fe) {
				kind := ProblemCorruptRecord
				if fe.Torn {
					kind = ProblemTruncated
				}
				return &Problem{Kind: kind, Seq: seq, Segment: name, Offset: off, Detail: fe.Reason + " (in data the state file records as written)"}, "", nil
			}
			if err != nil {
				return nil, "", fmt.Errorf("chain: read %s: %w", name, err)
			}
			at := func(kind ProblemKind, format string, args ...any) *Problem {
				return &Problem{Kind: kind, Seq: seq, Segment: name, Offset: off, Detail: fmt.Sprintf(format, args...)}
			}
			if first != (body[0] == recSegment) {
				return at(ProblemSegmentHeader, "segment header must be the first record and only there"), "", nil
			}
			frameLen := uint32(fr.off - off)
			switch body[0] {
			case recSegment:
				h, err := decodeSegmentHeader(body)
				if err != nil {
					return at(ProblemMalformed, "%v", err), "", nil
				}
				if h.Number != n || h.FirstSeq != seq || h.ChainID != s.info.ChainID || h.Origin != s.info.Origin {
					return at(ProblemSegmentHeader, "header says segment %d, first seq %d, chain %d, origin %q", h.Number, h.FirstSeq, h.ChainID, h.Origin), "", nil
				}
			case recEvent:
				e, err := decodeEvent(body)
				if err != nil {
					return at(ProblemMalformed, "%v", err), "", nil
				}
				switch {
				case e.Seq < seq:
					return at(ProblemReordered, "event %d where %d was expected", e.Seq, seq), "", nil
				case e.Seq > seq:
					return at(ProblemMissingEvents, "event %d where %d was expected", e.Seq, seq), "", nil
				case e.PrevHash != prev:
					return at(ProblemBrokenLink, "prev_hash does not match event %d's hash", seq-1), "", nil
				case e.ChainID != s.info.ChainID:
					return at(ProblemWrongChain, "chain id %d", e.ChainID), "", nil
				}
				if seq < st.Events {
					if err := s.index.read(seq, row[:indexWidth]); err != nil {
						return nil, fmt.Sprintf("index.dat row %d unreadable: %v", seq, err), nil
					}
					if binary.LittleEndian.Uint32(row[0:]) != n || binary.LittleEndian.Uint32(row[4:]) != uint32(off) || binary.LittleEndian.Uint32(row[8:]) != frameLen {
						return nil, fmt.Sprintf("index.dat row %d does not point at event %d", seq, seq), nil
					}
				}
				prev = e.Hash
				seq++
			case recCheckpoint:
				cp, err := decodeCheckpoint(body)
				if err != nil {
					return at(ProblemMalformed, "%v", err), "", nil
				}
				if ncp < st.Checkpoints {
					if err := s.cps.read(ncp, row[:]); err != nil {
						return nil, fmt.Sprintf("checkpoints.dat row %d unreadable: %v", ncp, err), nil
					}
					if binary.LittleEndian.Uint64(row[0:]) != cp.Size || binary.LittleEndian.Uint32(row[8:]) != n ||
						binary.LittleEndian.Uint32(row[12:]) != uint32(off) || binary.LittleEndian.Uint32(row[16:]) != frameLen {
						return nil, fmt.Sprintf("checkpoints.dat row %d does not point at checkpoint %d", ncp, ncp), nil
					}
				}
				ncp++
			}
		}
	}
	if seq != st.Events || ncp != st.Checkpoints {
		return nil, fmt.Sprintf("state.json records %d events and %d checkpoints; the segments hold %d and %d up to its offset",
			st.Events, st.Checkpoints, seq, ncp), nil
	}
	return nil, "", nil
}
