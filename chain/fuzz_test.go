package chain

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeRecord feeds arbitrary bytes to the frame and record decoders:
// they must never panic, and whatever decodes must re-encode identically.
func FuzzDecodeRecord(f *testing.F) {
	seg, err := os.ReadFile(filepath.Join("testdata", "golden", "00000000.seg"))
	if err != nil {
		f.Fatal(err)
	}
	for off := 0; off < len(seg); {
		_, n, _, reason := checkFrame(seg[off:])
		if reason != "" {
			break
		}
		f.Add(seg[off : off+n])
		off += n
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		body, n, _, reason := checkFrame(b)
		if reason != "" {
			return
		}
		fr := newFrameReader(bytes.NewReader(b), 0, int64(len(b)))
		if _, body2, err := fr.next(); err != nil || !bytes.Equal(body, body2) {
			t.Fatalf("frame reader disagrees with checkFrame: %v", err)
		}
		var re []byte
		switch body[0] {
		case recSegment:
			h, err := decodeSegmentHeader(body)
			if err != nil {
				return
			}
			re = appendFrame(nil, h.appendBody(nil))
		case recEvent:
			e, err := decodeEvent(body)
			if err != nil {
				return
			}
			re = appendFrame(nil, appendEventBody(nil, &e))
		case recCheckpoint:
			c, err := decodeCheckpoint(body)
			if err != nil {
				return
			}
			re = appendFrame(nil, appendCheckpointBody(nil, &c))
		}
		if !bytes.Equal(re, b[:n]) {
			t.Fatalf("re-encoding differs:\n%x\n%x", re, b[:n])
		}
	})
}

// FuzzVerifyExport runs the export verifier on mutated exports: no panics,
// and the untouched golden export verifies.
func FuzzVerifyExport(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "golden", "export.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	lines := bytes.Split(golden, []byte("\n"))
	f.Add(bytes.Join(lines[:4], []byte("\n")))
	f.Add([]byte(`{"type":"header"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := VerifyExport(bytes.NewReader(b), VerifyOptions{})
		if err != nil {
			t.Fatal(err) // a bytes.Reader never fails
		}
		if bytes.Equal(b, golden) && !rep.OK() {
			t.Fatalf("golden export rejected: %v", rep.Problem)
		}
		if rep.OK() && rep.Events > 0 && rep.Checkpoints == 0 && rep.Uncovered != rep.Events {
			t.Fatalf("inconsistent report %+v", rep)
		}
	})
}

// FuzzVerifyProof decodes arbitrary proofs and verifies them against the
// golden tree: only the genuine proof may verify.
func FuzzVerifyProof(f *testing.F) {
	leaves := testLeaves(37)
	tree, c := buildMemTree(leaves)
	root := c.root()
	for _, m := range []uint64{0, 5, 36} {
		path, err := inclusionPath(tree, m, 37)
		if err != nil {
			f.Fatal(err)
		}
		b, _ := InclusionProof{Seq: m, TreeSize: 37, Hashes: path}.MarshalBinary()
		f.Add(b)
	}
	cpath, _ := consistencyPath(tree, 13, 37)
	cb, _ := ConsistencyProof{OldSize: 13, NewSize: 37, Hashes: cpath}.MarshalBinary()
	f.Add(cb)
	oldRoot, _ := subtreeHash(tree, 0, 13)
	f.Fuzz(func(t *testing.T, b []byte) {
		var p InclusionProof
		if err := p.UnmarshalBinary(b); err == nil {
			if p.Seq < 37 {
				got, err := rootFromInclusion(p.Seq, p.TreeSize, leaves[p.Seq], p.Hashes)
				if err == nil && got == root && p.TreeSize == 37 {
					want, _ := inclusionPath(tree, p.Seq, 37)
					if !equalHashes(want, p.Hashes) {
						t.Fatalf("forged inclusion proof verified: %+v", p)
					}
				}
			}
		}
		var cp ConsistencyProof
		if err := cp.UnmarshalBinary(b); err == nil && cp.OldSize == 13 && cp.NewSize == 37 {
			if verifyConsistencyPath(13, 37, oldRoot, root, cp.Hashes) == nil && !equalHashes(cpath, cp.Hashes) {
				t.Fatalf("forged consistency proof verified")
			}
		}
	})
}

func equalHashes(a, b []Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzCheckpointText checks that parsing is strict: whatever parses
// re-encodes to the same bytes.
func FuzzCheckpointText(f *testing.F) {
	c := Checkpoint{Origin: "node-a", Size: 12, Timestamp: -5}
	f.Add(c.Text())
	f.Add([]byte("weftos-exochain/v1\nx\n01\nAAAA\n0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCheckpointText(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Text(), b) {
			t.Fatalf("non-canonical text accepted: %q", b)
		}
	})
}

// FuzzAckedHead: whatever index.dat and checkpoints.dat hold, the
// acknowledged bound never exceeds what their sizes allow and reading it
// never panics.
func FuzzAckedHead(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, indexWidth*3), make([]byte, cpWidth))
	f.Add([]byte{0, 0, 0, 0, 64, 0, 0, 0, 20, 0, 0, 0}, []byte{5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0, 30, 0, 0, 0})
	f.Fuzz(func(t *testing.T, index, cps []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, indexFile), index, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, checkpointsFile), cps, 0o600); err != nil {
			t.Fatal(err)
		}
		h := readAckedHead(dir, persistedState{})
		if h.cps > uint64(len(cps)/cpWidth) {
			t.Fatalf("bound %+v from %d checkpoint bytes", h, len(cps))
		}
		if h.source == indexFile && h.events > uint64(len(index)/indexWidth) {
			t.Fatalf("bound %+v from %d index bytes", h, len(index))
		}
	})
}

// FuzzFrameReader reads arbitrary segment bytes frame by frame: no panics,
// every frame returned is one checkFrame accepts at its offset, and a
// clean end is either the end of the bytes or a zero tail — zeros only,
// to the last byte (the writer's preallocated region).
func FuzzFrameReader(f *testing.F) {
	seg, err := os.ReadFile(filepath.Join("testdata", "golden", "00000000.seg"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seg)
	f.Add(append(append([]byte(nil), seg...), make([]byte, 300)...))
	f.Add(append(append(append([]byte(nil), seg...), make([]byte, 300)...), 1, 2, 3))
	f.Add(append(append(append([]byte(nil), seg...), make([]byte, 30)...), seg[:200]...))
	f.Add(make([]byte, 5))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr := newFrameReader(bytes.NewReader(b), 0, int64(len(b)))
		for {
			off, body, err := fr.next()
			if err == io.EOF {
				if off > int64(len(b)) || !isZero(b[off:]) {
					t.Fatalf("clean end at %d with non-zero bytes after it", off)
				}
				return
			}
			var fe *frameError
			if errors.As(err, &fe) {
				if fe.Offset != off {
					t.Fatalf("frame error at %d reported at %d", fe.Offset, off)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, n, _, reason := checkFrame(b[off:])
			if reason != "" || !bytes.Equal(got, body) || fr.off != off+int64(n) {
				t.Fatalf("frame at %d: reader and checkFrame disagree (%s)", off, reason)
			}
		}
	})
}
