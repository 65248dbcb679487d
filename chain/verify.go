package chain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/weftos/weftos/internal/jcs"
)

// ProblemKind classifies what Verify found wrong.
type ProblemKind string

// Problem kinds, in the vocabulary of the CLI and API.
const (
	ProblemCorruptRecord  ProblemKind = "corrupt-record"  // CRC mismatch or bad framing in a segment
	ProblemTornTail       ProblemKind = "torn-tail"       // incomplete last record never acknowledged (crash); repaired on next Open
	ProblemTruncated      ProblemKind = "truncated"       // acknowledged records are missing (a file was cut)
	ProblemMalformed      ProblemKind = "malformed"       // undecodable record or export line
	ProblemSegmentHeader  ProblemKind = "segment-header"  // segment header missing or inconsistent
	ProblemMissingSegment ProblemKind = "missing-segment" // gap in segment numbering
	ProblemEditedPayload  ProblemKind = "edited-payload"  // payload does not match payload_hash
	ProblemEditedEvent    ProblemKind = "edited-event"    // event fields do not match hash
	ProblemBrokenLink     ProblemKind = "broken-link"     // prev_hash is not the previous event's hash
	ProblemMissingEvents  ProblemKind = "missing-events"  // sequence number jumps forward
	ProblemReordered      ProblemKind = "reordered"       // sequence number repeats or goes back
	ProblemWrongChain     ProblemKind = "wrong-chain"     // chain id or origin differs from the header
	ProblemBadSignature   ProblemKind = "bad-signature"   // a checkpoint signature does not verify
	ProblemBadRoot        ProblemKind = "bad-checkpoint-root"
	ProblemBadCheckpoint  ProblemKind = "bad-checkpoint" // size out of range or out of order
	ProblemKeys           ProblemKind = "keys"           // keys differ from the pinned keys
)

// Problem is the first thing found wrong. It is an error wrapping ErrVerify.
type Problem struct {
	Kind    ProblemKind `json:"kind"`
	Seq     uint64      `json:"seq"` // first bad sequence number (the one expected at that point)
	Segment string      `json:"segment,omitempty"`
	Offset  int64       `json:"offset,omitempty"` // byte offset in Segment
	Line    int         `json:"line,omitempty"`   // 1-based line of an export
	Detail  string      `json:"detail"`
}

func (p *Problem) Error() string {
	where := ""
	switch {
	case p.Segment != "":
		where = fmt.Sprintf(" (%s offset %d)", p.Segment, p.Offset)
	case p.Line > 0:
		where = fmt.Sprintf(" (line %d)", p.Line)
	}
	return fmt.Sprintf("chain: %s at seq %d%s: %s", p.Kind, p.Seq, where, p.Detail)
}

// Unwrap makes errors.Is(p, ErrVerify) true.
func (p *Problem) Unwrap() error { return ErrVerify }

// Report summarizes a verification.
type Report struct {
	Info           ChainInfo   `json:"-"`
	Events         uint64      `json:"events"` // events verified before any problem
	Checkpoints    uint64      `json:"checkpoints"`
	Head           Hash        `json:"head"`
	LastCheckpoint *Checkpoint `json:"last_checkpoint,omitempty"`
	// Uncovered counts trailing events no checkpoint signs (normal only
	// after a crash; the next Open signs them).
	Uncovered uint64   `json:"uncovered"`
	Problem   *Problem `json:"problem,omitempty"`
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return r.Problem == nil }

// Err returns the problem as an error, or nil.
func (r *Report) Err() error {
	if r.Problem == nil {
		return nil
	}
	return r.Problem
}

// VerifyOptions configure Verify and VerifyExport.
type VerifyOptions struct {
	// Keys, if set, pins the expected public keys; otherwise the keys
	// stored with the chain are used (and only prove self-consistency).
	Keys *PublicKeys
}

// verifier checks a stream of events and checkpoints. It keeps the compact
// Merkle range at the last verified checkpoint plus the leaf hashes after it,
// so memory is bounded by the events between checkpoints.
type verifier struct {
	info    ChainInfo
	next    uint64
	prev    Hash
	base    compactRange
	pending []Hash
	lastCP  *Checkpoint
	ncp     uint64
	canon   []byte
}

func newVerifier(info ChainInfo, from uint64, prev Hash, frontier compactRange) *verifier {
	return &verifier{info: info, next: from, prev: prev, base: frontier}
}

func (v *verifier) problem(kind ProblemKind, format string, args ...any) *Problem {
	return &Problem{Kind: kind, Seq: v.next, Detail: fmt.Sprintf(format, args...)}
}

// intrinsic holds the checks of one event that do not depend on its
// neighbours; they can run in parallel.
type intrinsic struct {
	payloadErr  error
	payloadHash Hash
	hash        Hash
	leaf        Hash // leaf hash of the stored (not recomputed) hash
}

func computeIntrinsic(e *Event, canon []byte) (intrinsic, []byte) {
	var in intrinsic
	if len(e.Payload) > 0 {
		var err error
		canon, err = jcs.AppendCanonical(canon[:0], e.Payload)
		switch {
		case err != nil:
			in.payloadErr = err
		case string(canon) == "null":
			in.payloadErr = errors.New("payload null must be stored as no payload")
		default:
			in.payloadHash = PayloadHash(canon)
		}
	}
	in.hash = EventHash(e)
	in.leaf = LeafHash(e.Hash)
	return in, canon
}

func (v *verifier) event(e *Event) *Problem {
	var in intrinsic
	in, v.canon = computeIntrinsic(e, v.canon)
	return v.eventWith(e, &in)
}

// eventWith applies the checks in a fixed order, so that the reported
// problem does not depend on parallelism.
func (v *verifier) eventWith(e *Event, in *intrinsic) *Problem {
	switch {
	case e.Seq < v.next:
		return v.problem(ProblemReordered, "found seq %d where %d was expected", e.Seq, v.next)
	case e.Seq > v.next:
		return v.problem(ProblemMissingEvents, "found seq %d where %d was expected (%d events missing)", e.Seq, v.next, e.Seq-v.next)
	case e.ChainID != v.info.ChainID:
		return v.problem(ProblemWrongChain, "chain id %d, chain is %d", e.ChainID, v.info.ChainID)
	case in.payloadErr != nil:
		return v.problem(ProblemEditedPayload, "payload is not valid: %v", in.payloadErr)
	case in.payloadHash != e.PayloadHash:
		return v.problem(ProblemEditedPayload, "payload hash is %s, payload hashes to %s", e.PayloadHash, in.payloadHash)
	case in.hash != e.Hash:
		return v.problem(ProblemEditedEvent, "event hash is %s, fields hash to %s", e.Hash, in.hash)
	case e.PrevHash != v.prev:
		return v.problem(ProblemBrokenLink, "prev_hash %s, previous event hash is %s", e.PrevHash, v.prev)
	}
	v.pending = append(v.pending, in.leaf)
	v.prev = e.Hash
	v.next++
	return nil
}

func (v *verifier) checkpoint(cp *Checkpoint) *Problem {
	switch {
	case cp.Origin != v.info.Origin:
		return v.problem(ProblemWrongChain, "checkpoint origin %q, chain origin %q", cp.Origin, v.info.Origin)
	case cp.Size == 0 || cp.Size > v.next:
		return v.problem(ProblemBadCheckpoint, "checkpoint of size %d but only %d events precede it", cp.Size, v.next)
	case cp.Size < v.base.size:
		return v.problem(ProblemBadCheckpoint, "checkpoint of size %d after one of size %d", cp.Size, v.base.size)
	}
	if err := cp.Verify(v.info.Keys); err != nil {
		return v.problem(ProblemBadSignature, "%v", err)
	}
	n := cp.Size - v.base.size
	c := v.base.clone()
	for _, leaf := range v.pending[:n] {
		c.appendLeaf(leaf, nil)
	}
	if r := c.root(); r != cp.Root {
		return v.problem(ProblemBadRoot, "checkpoint of size %d has root %s, events give %s", cp.Size, cp.Root, r)
	}
	v.base = c
	v.pending = append(v.pending[:0], v.pending[n:]...)
	v.lastCP = cp
	v.ncp++
	return nil
}

func (v *verifier) report(r *Report) {
	r.Info = v.info
	r.Events = v.next
	r.Checkpoints = v.ncp
	r.Head = v.prev
	r.LastCheckpoint = v.lastCP
	r.Uncovered = uint64(len(v.pending))
}

// Verify checks a store directory from its segment files alone: framing and
// CRCs, every payload hash, event hash and link, and the root and both
// signatures of every checkpoint. It stops at the first problem. The error is
// non-nil only when the directory cannot be read.
func Verify(ctx context.Context, dir string, opts VerifyOptions) (*Report, error) {
	rep := &Report{}
	info, err := ReadChainInfo(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		rep.Problem = &Problem{Kind: ProblemKeys, Detail: err.Error()}
		return rep, nil
	}
	if opts.Keys != nil && !opts.Keys.Equal(info.Keys) {
		rep.Info = info
		rep.Problem = &Problem{Kind: ProblemKeys, Detail: "keys.json does not hold the pinned public keys"}
		return rep, nil
	}
	nums, err := listSegmentsLoose(dir)
	if err != nil {
		return nil, err
	}
	// What the derived files say was acknowledged: a tail cut below it is
	// lost data, not a torn write (read before the segments, like Open).
	st, _ := readState(dir)
	acked := readAckedHead(dir, st)
	v := newVerifier(info, 0, Hash{}, compactRange{})
	defer v.report(rep)
	pl := newPipeline(v)
	defer pl.close()
	for i, n := range nums {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if n != uint32(i) {
			rep.Problem = v.problem(ProblemMissingSegment, "segment %s missing", segmentName(uint32(i)))
			return rep, nil
		}
		if p := verifySegment(dir, n, i == len(nums)-1, pl, acked); p != nil {
			rep.Problem = p
			return rep, nil
		}
	}
	if len(nums) == 0 && acked.events > 0 {
		rep.Problem = &Problem{Kind: ProblemMissingSegment, Segment: segmentName(0),
			Detail: fmt.Sprintf("no segment files, but %d events were acknowledged (per %s)", acked.events, acked.source)}
	}
	return rep, nil
}

func listSegmentsLoose(dir string) ([]uint32, error) {
	nums, err := listSegments(dir)
	if errors.Is(err, ErrCorrupt) {
		// Numbering gaps are reported as problems by the caller.
		return listSegmentNames(dir)
	}
	return nums, err
}

func verifySegment(dir string, n uint32, last bool, pl *pipeline, acked ackedHead) *Problem {
	v := pl.v
	name := segmentName(n)
	pl.seg = name
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return v.problem(ProblemMissingSegment, "%v", err)
	}
	defer f.Close()
	// at reports a problem at off, unless an earlier queued event has one.
	at := func(p *Problem, off int64) *Problem {
		if earlier := pl.drain(); earlier != nil {
			return earlier
		}
		p.Seq = v.next
		p.Segment, p.Offset = name, off
		return p
	}
	st, err := f.Stat()
	if err != nil {
		return v.problem(ProblemMissingSegment, "%v", err)
	}
	fr := newFrameReader(f, 0, st.Size())
	for first := true; ; first = false {
		off, body, err := fr.next()
		if err == io.EOF {
			if first && !last {
				return at(v.problem(ProblemSegmentHeader, "empty segment"), 0)
			}
			if p := pl.drain(); p != nil || !last {
				return p
			}
			return tailDamage(name, off, v.next, v.ncp, nil, nil, acked)
		}
		var fe *frameError
		if errors.As(err, &fe) {
			if last {
				tail, rerr := io.ReadAll(io.NewSectionReader(f, off, 1<<62))
				if rerr == nil {
					if p := pl.drain(); p != nil {
						return p
					}
					return tailDamage(name, off, v.next, v.ncp, fe, tail, acked)
				}
			}
			kind := ProblemCorruptRecord
			if fe.Torn {
				kind = ProblemTruncated
			}
			return at(v.problem(kind, "%s", fe.Reason), off)
		}
		if err != nil {
			return at(v.problem(ProblemCorruptRecord, "read: %v", err), off)
		}
		if first != (body[0] == recSegment) {
			return at(v.problem(ProblemSegmentHeader, "segment header must be the first record and only there"), off)
		}
		switch body[0] {
		case recSegment:
			if p := pl.drain(); p != nil {
				return p
			}
			h, err := decodeSegmentHeader(body)
			if err != nil {
				return at(v.problem(ProblemMalformed, "%v", err), off)
			}
			if h.Number != n || h.FirstSeq != v.next || h.ChainID != v.info.ChainID || h.Origin != v.info.Origin {
				return at(v.problem(ProblemSegmentHeader, "header says segment %d, first seq %d, chain %d, origin %q", h.Number, h.FirstSeq, h.ChainID, h.Origin), off)
			}
		case recEvent:
			e, err := decodeEvent(body)
			if err != nil {
				return at(v.problem(ProblemMalformed, "%v", err), off)
			}
			if p := pl.add(e, off); p != nil {
				return p
			}
		case recCheckpoint:
			if p := pl.drain(); p != nil {
				return p
			}
			cp, err := decodeCheckpoint(body)
			if err != nil {
				return at(v.problem(ProblemMalformed, "%v", err), off)
			}
			if p := v.checkpoint(&cp); p != nil {
				return at(p, off)
			}
		}
	}
}
