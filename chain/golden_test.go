package chain

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// goldenSeedLabel derives the test-vector keys: the first 64 bytes of
// SHAKE-256("weftos-exochain/v1 test vector keys") are the Ed25519 seed
// (bytes 0..31) and the ML-DSA-65 seed (bytes 32..63).
const goldenSeedLabel = "weftos-exochain/v1 test vector keys"

type goldenVectors struct {
	KeySeedLabel string            `json:"key_seed_label"`
	Ed25519Seed  string            `json:"ed25519_seed"`
	MLDSA65Seed  string            `json:"mldsa65_seed"`
	Info         ChainInfo         `json:"chain"`
	Events       []goldenEvent     `json:"events"`
	Checkpoints  []goldenCP        `json:"checkpoints"`
	Proof        *InclusionProof   `json:"inclusion_proof_seq3"`
	Consistency  *ConsistencyProof `json:"consistency_proof"`
}

type goldenEvent struct {
	Seq             uint64 `json:"seq"`
	PayloadIn       string `json:"payload_input"`
	Canonical       string `json:"payload_canonical"`
	PayloadHash     Hash   `json:"payload_hash"`
	HashPreimageHex string `json:"hash_preimage"`
	Hash            Hash   `json:"hash"`
	LeafHash        Hash   `json:"leaf_hash"`
}

type goldenCP struct {
	Checkpoint Checkpoint `json:"checkpoint"`
	TextHex    string     `json:"text_hex"`
}

// goldenInputs are the payloads of the fixed chain (JSON text, "" = none).
var goldenInputs = []struct{ source, kind, payload string }{
	{"kernel", "boot", `{"version":"0.1.0","node":"node-a"}`},
	{"kernel", "process.spawn", `{"pid":42,"name":"agent-7","args":["--x","y"]}`},
	{"ipc", "send", ""},
	{"config", "change", `{"z":1E3,"a":{"€":true,"\r":null,"1":[0.1,-0,1e21,1e-7]}}`},
	{"llm", "call", `{"model":"m","tokens_in":123,"tokens_out":45,"prompt_hash":"<h>&amp;"}`},
	{"kernel", "process.exit", `{"pid":42,"code":0}`},
	{"cron", "fire", `{"job":"rotate","at":333333333.33333329}`},
	{"kernel", "shutdown", `null`},
	{"service", "start", `"plain string payload"`},
}

func goldenChain(t *testing.T) (string, goldenVectors) {
	t.Helper()
	dir := t.TempDir()
	seed := make([]byte, 64)
	shakeReader(goldenSeedLabel).Read(seed) //nolint:errcheck // SHAKE reads never fail
	keys, err := GenerateKeys(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	opts := Options{ChainID: 1, Origin: "node-a", Keys: keys, Clock: clock, DeterministicSignatures: true,
		CheckpointInterval: time.Hour, CheckpointEvery: 1 << 30}
	vec := goldenVectors{KeySeedLabel: goldenSeedLabel, Ed25519Seed: hex.EncodeToString(seed[:32]), MLDSA65Seed: hex.EncodeToString(seed[32:])}
	// Two sessions: a checkpoint is written at each Close.
	for _, part := range [][2]int{{0, 5}, {5, len(goldenInputs)}} {
		l := openLog(t, dir, opts)
		for _, in := range goldenInputs[part[0]:part[1]] {
			clock.Advance(time.Millisecond)
			var payload any
			if in.payload != "" {
				payload = json.RawMessage(in.payload)
			}
			e, err := l.Append(context.Background(), in.source, in.kind, payload)
			if err != nil {
				t.Fatal(err)
			}
			vec.Events = append(vec.Events, goldenEvent{Seq: e.Seq, PayloadIn: in.payload, Canonical: string(e.Payload),
				PayloadHash: e.PayloadHash, HashPreimageHex: hex.EncodeToString(appendEventPreimage(nil, &e)), Hash: e.Hash,
				LeafHash: LeafHash(e.Hash)})
		}
		clock.Advance(time.Millisecond)
		closeLog(t, l)
	}
	r, err := OpenReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	vec.Info = r.Info()
	for cp, err := range r.Checkpoints() {
		if err != nil {
			t.Fatal(err)
		}
		vec.Checkpoints = append(vec.Checkpoints, goldenCP{Checkpoint: cp, TextHex: hex.EncodeToString(cp.Text())})
	}
	p, _, err := r.InclusionProof(3)
	if err != nil {
		t.Fatal(err)
	}
	vec.Proof = &p
	c, err := r.ConsistencyProof(5, 9)
	if err != nil {
		t.Fatal(err)
	}
	vec.Consistency = &c
	return dir, vec
}

func TestGoldenVectors(t *testing.T) {
	dir, vec := goldenChain(t)
	got, err := json.MarshalIndent(vec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	r, err := OpenReader(dir)
	if err != nil {
		t.Fatal(err)
	}
	var export bytes.Buffer
	if err := r.Export(context.Background(), &export, 0); err != nil {
		t.Fatal(err)
	}
	r.Close()
	seg, err := os.ReadFile(filepath.Join(dir, segmentName(0)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"vectors.json": got,
		"export.jsonl": export.Bytes(),
		"00000000.seg": seg,
	}
	for name, data := range files {
		path := filepath.Join("testdata", "golden", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestGoldenVectors -update)", err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("%s differs from the golden file (the format changed?)", name)
		}
	}
}

// TestGoldenIndependent recomputes the golden vectors from the documented
// rules, without the package's helpers, to catch a spec/code mismatch.
func TestGoldenIndependent(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "golden", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vec goldenVectors
	if err := json.Unmarshal(b, &vec); err != nil {
		t.Fatal(err)
	}
	var leaves []Hash
	for _, e := range vec.Events {
		pre, _ := hex.DecodeString(e.HashPreimageHex)
		if !bytes.HasPrefix(pre, []byte("weftos/exochain/v1\x00")) {
			t.Fatalf("event %d preimage lacks the domain prefix", e.Seq)
		}
		if got := sumShake(pre); got != e.Hash {
			t.Fatalf("event %d: SHAKE-256(preimage) != hash", e.Seq)
		}
		if !bytes.HasSuffix(pre, e.PayloadHash[:]) {
			t.Fatalf("event %d: preimage does not end with the payload hash", e.Seq)
		}
		if e.Canonical == "" {
			if !e.PayloadHash.IsZero() {
				t.Fatalf("event %d: empty payload must hash to zeros", e.Seq)
			}
		} else if sumShake([]byte(e.Canonical)) != e.PayloadHash {
			t.Fatalf("event %d: payload hash", e.Seq)
		}
		leaf := sumShake(append([]byte{0}, e.Hash[:]...))
		if leaf != e.LeafHash {
			t.Fatalf("event %d: leaf hash", e.Seq)
		}
		leaves = append(leaves, leaf)
	}
	for _, gcp := range vec.Checkpoints {
		cp := gcp.Checkpoint
		if naiveRoot(leaves[:cp.Size]) != cp.Root {
			t.Fatalf("checkpoint %d root", cp.Size)
		}
		text, _ := hex.DecodeString(gcp.TextHex)
		if string(text) != string(cp.Text()) {
			t.Fatalf("checkpoint %d text", cp.Size)
		}
		if err := cp.Verify(vec.Info.Keys); err != nil {
			t.Fatal(err)
		}
	}
	if want := `{"a":{"\r":null,"1":[0.1,0,1e+21,1e-7],"€":true},"z":1000}`; vec.Events[3].Canonical != want {
		t.Fatalf("canonical payload %s, want %s", vec.Events[3].Canonical, want)
	}
	rep, err := VerifyExport(mustOpen(t, filepath.Join("testdata", "golden", "export.jsonl")), VerifyOptions{Keys: &vec.Info.Keys})
	if err != nil || !rep.OK() || rep.Events != uint64(len(vec.Events)) {
		t.Fatalf("golden export: %v %+v", err, rep.Problem)
	}
	last := vec.Checkpoints[len(vec.Checkpoints)-1]
	if err := VerifyInclusion(vec.Info.Keys, last.Checkpoint, vec.Events[3].Hash, *vec.Proof); err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistency(vec.Info.Keys, vec.Checkpoints[0].Checkpoint, last.Checkpoint, *vec.Consistency); err != nil {
		t.Fatal(err)
	}
}

func sumShake(b []byte) Hash {
	var h Hash
	sh := shakeReader("")
	sh.Reset()
	sh.Write(b)
	sh.Read(h[:]) //nolint:errcheck // never fails
	return h
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
