package chain

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Export line types (the "type" member of every JSON Lines record).
const (
	LineHeader     = "header"
	LineEvent      = "event"
	LineCheckpoint = "checkpoint"
)

type eventLine struct {
	Type string `json:"type"`
	Event
}

// Export writes the chain as JSON Lines (docs/EXOCHAIN.md, "Export"): a
// header, then every event from seq from on, each checkpoint of size >= from
// right after the event that completes its tree. With from > 0 the header
// carries prev_hash and the Merkle frontier of the first from events so that
// the export can be verified on its own.
func (s *store) Export(ctx context.Context, w io.Writer, from uint64) error {
	size, ncp := s.published()
	if from > size {
		return fmt.Errorf("%w: export from %d (chain has %d events)", ErrNotFound, from, size)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	hdr := s.info.toJSON()
	hdr.Type = LineHeader
	if from > 0 {
		front, err := compactFromSource(fileTree{s.tree}, from)
		if err != nil {
			return err
		}
		prev, err := s.get(from - 1)
		if err != nil {
			return err
		}
		hdr.From, hdr.PrevHash, hdr.Frontier = from, &prev.Hash, front.nodes
		if hdr.Frontier == nil {
			hdr.Frontier = []Hash{}
		}
	}
	if err := enc.Encode(hdr); err != nil {
		return fmt.Errorf("chain: export: %w", err)
	}
	// Checkpoints are emitted in size order right after their last event.
	var cpi uint64
	nextCP := func() (uint64, bool, error) {
		for cpi < ncp {
			sz, _, _, _, err := s.cpEntry(cpi)
			if err != nil {
				return 0, false, err
			}
			if sz >= from && sz > 0 {
				return sz, true, nil
			}
			cpi++
		}
		return 0, false, nil
	}
	emitCPs := func(done uint64) error {
		for {
			sz, ok, err := nextCP()
			if err != nil || !ok || sz > done {
				return err
			}
			cp, err := s.checkpointAt(cpi)
			if err != nil {
				return err
			}
			if err := enc.Encode(cp.toJSON(LineCheckpoint)); err != nil {
				return fmt.Errorf("chain: export: %w", err)
			}
			cpi++
		}
	}
	if err := emitCPs(from); err != nil {
		return err
	}
	for seq := from; seq < size; seq++ {
		if seq%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e, err := s.get(seq)
		if err != nil {
			return err
		}
		if err := enc.Encode(eventLine{Type: LineEvent, Event: e}); err != nil {
			return fmt.Errorf("chain: export: %w", err)
		}
		if err := emitCPs(seq + 1); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("chain: export: %w", err)
	}
	return nil
}

// exportLine is the union of all line types, decoded in one pass.
type exportLine struct {
	Type string `json:"type"`
	// header
	Format   string `json:"format"`
	Origin   string `json:"origin"`
	ChainID  uint32 `json:"chain_id"`
	Ed25519  string `json:"ed25519_public_key"`
	MLDSA65  string `json:"mldsa65_public_key"`
	From     uint64 `json:"from"`
	PrevHash *Hash  `json:"prev_hash"`
	Frontier []Hash `json:"frontier"`
	// event
	Seq         *uint64         `json:"seq"`
	Timestamp   int64           `json:"ts"`
	Source      string          `json:"source"`
	Kind        string          `json:"kind"`
	Payload     json.RawMessage `json:"payload"`
	PayloadHash Hash            `json:"payload_hash"`
	Hash        Hash            `json:"hash"`
	// checkpoint
	Size       uint64 `json:"size"`
	Root       Hash   `json:"root"`
	Text       string `json:"text"`
	SigEd25519 []byte `json:"sig_ed25519"`
	SigMLDSA65 []byte `json:"sig_mldsa65"`
}

const maxExportLine = 8 * MaxPayloadLen

// fastEventLines turns parseEventLine on; tests turn it off to compare.
var fastEventLines = true

// VerifyExport checks a JSON Lines export like Verify checks a store. The
// error is non-nil only when r fails.
func VerifyExport(r io.Reader, opts VerifyOptions) (*Report, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	rep := &Report{}
	var v *verifier
	line := 0
	for {
		raw, err := readLine(br)
		if err == io.EOF {
			break
		}
		line++
		at := func(p *Problem) (*Report, error) {
			p.Line = line
			rep.Problem = p
			return rep, nil
		}
		if errors.Is(err, ErrFormat) {
			return at(&Problem{Kind: ProblemMalformed, Detail: err.Error()})
		}
		if err != nil {
			return nil, fmt.Errorf("chain: read export: %w", err)
		}
		if v != nil && fastEventLines {
			// The common case: an event line as Export writes it, read
			// without encoding/json. A payload the canonicalizer refuses
			// goes the slow way, which tells a malformed line from an
			// edited payload.
			var e Event
			if parseEventLine(raw, &e) {
				in, canon := computeIntrinsic(&e, v.canon)
				v.canon = canon
				if in.payloadErr == nil {
					if p := v.eventWith(&e, &in); p != nil {
						return at(p)
					}
					continue
				}
			}
		}
		var l exportLine
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			p := &Problem{Kind: ProblemMalformed, Detail: fmt.Sprintf("line is not a valid record: %v", err)}
			if v != nil {
				p.Seq = v.next
			}
			return at(p)
		}
		if v == nil {
			if l.Type != LineHeader {
				return at(&Problem{Kind: ProblemMalformed, Detail: "first line must be the header"})
			}
			hv, p := headerVerifier(&l)
			if p != nil {
				return at(p)
			}
			if opts.Keys != nil && !opts.Keys.Equal(hv.info.Keys) {
				rep.Info = hv.info
				return at(&Problem{Kind: ProblemKeys, Seq: l.From, Detail: "export header does not hold the pinned public keys"})
			}
			v = hv
			defer v.report(rep)
			continue
		}
		switch l.Type {
		case LineEvent:
			if l.Seq == nil {
				return at(v.problem(ProblemMalformed, "event line without seq"))
			}
			e := Event{Seq: *l.Seq, ChainID: l.ChainID, Timestamp: l.Timestamp, Source: l.Source, Kind: l.Kind,
				PayloadHash: l.PayloadHash, Hash: l.Hash}
			if l.PrevHash != nil {
				e.PrevHash = *l.PrevHash
			}
			if len(l.Payload) > 0 && string(l.Payload) != "null" {
				e.Payload = l.Payload
			}
			if p := v.event(&e); p != nil {
				return at(p)
			}
		case LineCheckpoint:
			cj := checkpointJSON{Origin: l.Origin, Size: l.Size, Root: l.Root, Timestamp: l.Timestamp, Text: l.Text,
				SigEd25519: l.SigEd25519, SigMLDSA65: l.SigMLDSA65}
			cp, err := cj.checkpoint()
			if err != nil {
				return at(v.problem(ProblemBadCheckpoint, "%v", err))
			}
			if p := v.checkpoint(&cp); p != nil {
				return at(p)
			}
		default:
			return at(v.problem(ProblemMalformed, "unknown line type %q", l.Type))
		}
	}
	if v == nil {
		rep.Problem = &Problem{Kind: ProblemMalformed, Detail: "empty export"}
	}
	return rep, nil
}

func headerVerifier(l *exportLine) (*verifier, *Problem) {
	j := chainInfoJSON{Format: l.Format, Origin: l.Origin, ChainID: l.ChainID, Ed25519: l.Ed25519, MLDSA65: l.MLDSA65}
	info, err := j.info()
	if err != nil {
		return nil, &Problem{Kind: ProblemMalformed, Detail: err.Error()}
	}
	var front compactRange
	var prev Hash
	if l.From > 0 {
		if l.PrevHash == nil || len(l.Frontier) != bitsOnes(l.From) {
			return nil, &Problem{Kind: ProblemMalformed, Seq: l.From, Detail: "header of a partial export needs prev_hash and one frontier hash per set bit of from"}
		}
		prev = *l.PrevHash
		front = compactRange{size: l.From, nodes: append([]Hash(nil), l.Frontier...)}
	} else if l.PrevHash != nil || len(l.Frontier) != 0 {
		return nil, &Problem{Kind: ProblemMalformed, Detail: "header of a full export has no prev_hash or frontier"}
	}
	return newVerifier(info, l.From, prev, front), nil
}

// readLine returns the next line without its newline; an unterminated last
// line is accepted.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxExportLine {
			return nil, fmt.Errorf("%w: export line longer than %d bytes", ErrFormat, maxExportLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(buf) > 0 {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		return buf[:len(buf)-1], nil
	}
}
