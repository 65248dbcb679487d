package chain

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallChain builds a chain spread over several segments with checkpoints
// in the middle and at the end.
func smallChain(t *testing.T, n int) (string, []Event) {
	t.Helper()
	dir := t.TempDir()
	opts := testOptions(t)
	opts.SegmentSize = 2048
	opts.CheckpointEvery = uint64(n)
	l := openLog(t, dir, opts)
	evs := appendN(t, l, n)
	// Wait for the count-triggered checkpoint so one sits mid-chain.
	if _, err := l.WaitCovered(context.Background(), uint64(n-1)); err != nil {
		t.Fatal(err)
	}
	evs = append(evs, appendN(t, l, 2)...)
	closeLog(t, l)
	return dir, evs
}

func TestVerifyDetectsEveryByteFlip(t *testing.T) {
	dir, _ := smallChain(t, 6)
	rep := mustVerify(t, dir)
	if rep.Checkpoints < 2 {
		t.Fatalf("want a mid-chain checkpoint, got %d checkpoints", rep.Checkpoints)
	}
	segs := segmentPaths(t, dir)
	if len(segs) < 2 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	total := 0
	for _, seg := range segs {
		orig, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(seg, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		for off := range orig {
			masks := []byte{0xff}
			if off%5 == 0 {
				masks = append(masks, 0x01, 0x80)
			}
			for _, mask := range masks {
				if _, err := f.WriteAt([]byte{orig[off] ^ mask}, int64(off)); err != nil {
					t.Fatal(err)
				}
				rep, err := Verify(context.Background(), dir, VerifyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if rep.OK() {
					t.Fatalf("%s: flipping byte %d with %#x went undetected", filepath.Base(seg), off, mask)
				}
				total++
			}
			if _, err := f.WriteAt(orig[off:off+1], int64(off)); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	}
	mustVerify(t, dir)
	t.Logf("%d single-byte modifications detected", total)
}

func TestVerifyPinnedKeys(t *testing.T) {
	dir, _ := smallChain(t, 3)
	good := testKeys(t, "node-test").Public()
	if rep, err := Verify(context.Background(), dir, VerifyOptions{Keys: &good}); err != nil || !rep.OK() {
		t.Fatalf("pinned good keys: %v %v", err, rep.Problem)
	}
	other := testKeys(t, "other").Public()
	rep, err := Verify(context.Background(), dir, VerifyOptions{Keys: &other})
	if err != nil || rep.OK() || rep.Problem.Kind != ProblemKeys {
		t.Fatalf("pinned wrong keys: %v %+v", err, rep.Problem)
	}
	// Replacing keys.json with another key pair breaks every signature.
	info, _ := ReadChainInfo(dir)
	info.Keys = other
	b, _ := json.Marshal(info)
	if err := os.WriteFile(filepath.Join(dir, keysFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if rep := mustVerifyFails(t, dir); rep.Problem.Kind != ProblemBadSignature {
		t.Fatalf("swapped keys.json: %+v", rep.Problem)
	}
}

func exportLines(t *testing.T, dir string, from uint64) []string {
	t.Helper()
	r, err := OpenReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if err := r.Export(context.Background(), &buf, from); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

func verifyLines(t *testing.T, lines []string) *Report {
	t.Helper()
	rep, err := VerifyExport(strings.NewReader(strings.Join(lines, "\n")+"\n"), VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestExportRoundTrip(t *testing.T) {
	dir, evs := smallChain(t, 10)
	lines := exportLines(t, dir, 0)
	rep := verifyLines(t, lines)
	if !rep.OK() || rep.Events != uint64(len(evs)) || rep.Uncovered != 0 || rep.Head != evs[len(evs)-1].Hash {
		t.Fatalf("export report %+v %v", rep, rep.Problem)
	}
	var types []string
	for _, l := range lines {
		var x struct{ Type string }
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatal(err)
		}
		types = append(types, x.Type)
	}
	if types[0] != LineHeader || types[1] != LineEvent || types[len(types)-1] != LineCheckpoint {
		t.Fatalf("line types %v", types)
	}
	for from := uint64(1); from <= uint64(len(evs)); from++ {
		part := exportLines(t, dir, from)
		rep := verifyLines(t, part)
		if !rep.OK() || rep.Events != uint64(len(evs)) {
			t.Fatalf("export from %d: %+v", from, rep.Problem)
		}
	}
	// A forged frontier in a partial export breaks the checkpoint roots.
	part := exportLines(t, dir, 5)
	part[0] = strings.Replace(part[0], `"frontier":["`, `"frontier":["00`, 1)
	part[0] = strings.Replace(part[0], `00`, ``, 0)
	var hdr map[string]any
	json.Unmarshal([]byte(part[0]), &hdr) //nolint:errcheck // checked by the verifier
	front := hdr["frontier"].([]any)
	front[0] = strings.Repeat("ab", 32)
	b, _ := json.Marshal(hdr)
	part[0] = string(b)
	if rep := verifyLines(t, part); rep.OK() || rep.Problem.Kind != ProblemBadRoot {
		t.Fatalf("forged frontier: %+v", rep.Problem)
	}
}

func TestExportTamperEveryField(t *testing.T) {
	dir, _ := smallChain(t, 6)
	lines := exportLines(t, dir, 0)
	firstEvent, firstCP := -1, -1
	for i, l := range lines {
		if firstEvent < 0 && strings.Contains(l, `"type":"event"`) && strings.Contains(l, `"seq":2,`) {
			firstEvent = i
		}
		if firstCP < 0 && strings.Contains(l, `"type":"checkpoint"`) {
			firstCP = i
		}
	}
	tests := []struct {
		line  int
		field string
		want  ProblemKind
	}{
		{0, "origin", ProblemWrongChain},
		{0, "chain_id", ProblemWrongChain},
		{0, "ed25519_public_key", ProblemBadSignature},
		{0, "mldsa65_public_key", ProblemBadSignature},
		{0, "format", ProblemMalformed},
		{firstEvent, "seq", ProblemMissingEvents},
		{firstEvent, "chain_id", ProblemWrongChain},
		{firstEvent, "ts", ProblemEditedEvent},
		{firstEvent, "prev_hash", ProblemEditedEvent},
		{firstEvent, "source", ProblemEditedEvent},
		{firstEvent, "kind", ProblemEditedEvent},
		{firstEvent, "payload", ProblemEditedPayload},
		{firstEvent, "payload_hash", ProblemEditedPayload},
		{firstEvent, "hash", ProblemEditedEvent},
		{firstEvent, "type", ProblemMalformed},
		{firstCP, "origin", ProblemBadCheckpoint},
		{firstCP, "size", ProblemBadCheckpoint},
		{firstCP, "root", ProblemBadCheckpoint},
		{firstCP, "ts", ProblemBadCheckpoint},
		{firstCP, "text", ProblemBadCheckpoint},
		{firstCP, "sig_ed25519", ProblemBadSignature},
		{firstCP, "sig_mldsa65", ProblemBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.field+"@"+string(rune('0'+tt.line%10)), func(t *testing.T) {
			mod := append([]string(nil), lines...)
			mod[tt.line] = tamperField(t, mod[tt.line], tt.field)
			rep := verifyLines(t, mod)
			if rep.OK() {
				t.Fatalf("tampering %s on line %d went undetected", tt.field, tt.line+1)
			}
			if rep.Problem.Kind != tt.want && !(tt.line == 0 && rep.Problem.Kind == ProblemWrongChain) {
				t.Fatalf("tampering %s: got %s (%s), want %s", tt.field, rep.Problem.Kind, rep.Problem.Detail, tt.want)
			}
		})
	}
	// Structural edits: drop, duplicate and swap event lines.
	drop := append(append([]string(nil), lines[:firstEvent]...), lines[firstEvent+1:]...)
	if rep := verifyLines(t, drop); rep.OK() || rep.Problem.Kind != ProblemMissingEvents || rep.Problem.Seq != 2 {
		t.Fatalf("dropped event: %+v", rep.Problem)
	}
	dup := append(append([]string(nil), lines[:firstEvent+1]...), lines[firstEvent:]...)
	if rep := verifyLines(t, dup); rep.OK() || rep.Problem.Kind != ProblemReordered {
		t.Fatalf("duplicated event: %+v", rep.Problem)
	}
	swap := append([]string(nil), lines...)
	swap[firstEvent-1], swap[firstEvent] = swap[firstEvent], swap[firstEvent-1]
	if rep := verifyLines(t, swap); rep.OK() || rep.Problem.Seq != 1 {
		t.Fatalf("swapped events: %+v", rep.Problem)
	}
}

// tamperField changes one field of a JSON line in a type-appropriate way.
func tamperField(t *testing.T, line, field string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	v, ok := m[field]
	if !ok {
		t.Fatalf("line has no field %q: %s", field, line)
	}
	switch x := v.(type) {
	case json.Number:
		n, _ := x.Int64()
		m[field] = n + 1
	case string:
		switch {
		case strings.HasPrefix(field, "sig_"):
			b, err := base64.StdEncoding.DecodeString(x)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 1
			m[field] = base64.StdEncoding.EncodeToString(b)
		case field == "text":
			m[field] = strings.Replace(x, "weftos", "weftoz", 1)
		case len(x) >= 64 && isHex(x):
			c := byte('0')
			if x[10] == '0' {
				c = '1'
			}
			m[field] = x[:10] + string(c) + x[11:]
		default:
			m[field] = x + "x"
		}
	case map[string]any:
		x["tampered"] = true
	case []any:
		m[field] = append(x, "tampered")
	case nil:
		m[field] = map[string]any{"tampered": true}
	default:
		t.Fatalf("field %s has unexpected type %T", field, v)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

func TestVerifyExportMalformed(t *testing.T) {
	tests := []string{
		"",
		"not json\n",
		`{"type":"event","seq":0}` + "\n",
		`{"type":"header","format":"weftos-exochain/v1","origin":"x","chain_id":1,"ed25519_public_key":"00","mldsa65_public_key":"00"}` + "\n",
	}
	for _, in := range tests {
		rep, err := VerifyExport(strings.NewReader(in), VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() || rep.Problem.Kind != ProblemMalformed {
			t.Fatalf("%q: %+v", in, rep.Problem)
		}
		if !errors.Is(rep.Err(), ErrVerify) {
			t.Fatalf("problem does not wrap ErrVerify")
		}
	}
}
