package chain

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheckpointJSON(t *testing.T) {
	keys := testKeys(t, "json")
	cp, err := signCheckpoint(keys, Checkpoint{Origin: "node-a", Size: 3, Root: shake([]byte("r")), Timestamp: 42}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	var back Checkpoint
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Verify(keys.Public()); err != nil {
		t.Fatalf("round-tripped checkpoint: %v", err)
	}
	tests := []struct{ name, from, to string }{
		{"size disagrees with text", `"size":3`, `"size":4`},
		{"ts disagrees with text", `"ts":42`, `"ts":43`},
		{"non-canonical text", `\n3\n`, `\n03\n`},
		{"bad root hex", `"root":"`, `"root":"zz`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod := strings.Replace(string(b), tt.from, tt.to, 1)
			if mod == string(b) {
				t.Fatalf("pattern %q not found", tt.from)
			}
			if err := json.Unmarshal([]byte(mod), &back); !errors.Is(err, ErrFormat) {
				t.Fatalf("err = %v, want ErrFormat", err)
			}
		})
	}
	other := cp
	other.Timestamp++
	if err := other.Verify(keys.Public()); !errors.Is(err, ErrVerify) {
		t.Fatalf("changed checkpoint verified: %v", err)
	}
	onlyEd := cp
	onlyEd.SigMLDSA65 = append([]byte(nil), cp.SigMLDSA65...)
	onlyEd.SigMLDSA65[100] ^= 1
	if err := onlyEd.Verify(keys.Public()); err == nil || !strings.Contains(err.Error(), "ML-DSA-65") {
		t.Fatalf("bad ML-DSA signature accepted: %v", err)
	}
}

func TestProofJSON(t *testing.T) {
	leaves := testLeaves(9)
	tree, _ := buildMemTree(leaves)
	path, err := inclusionPath(tree, 3, 9)
	if err != nil {
		t.Fatal(err)
	}
	p := InclusionProof{Seq: 3, TreeSize: 9, Hashes: path}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back InclusionProof
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !equalHashes(back.Hashes, p.Hashes) || back.Seq != 3 || back.TreeSize != 9 {
		t.Fatalf("round trip: %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"seq":1,"tree_size":2,"hashes":["00"]}`), &back); err == nil {
		t.Fatal("short hash accepted")
	}
}
