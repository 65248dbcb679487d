package identity

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	home := t.TempDir()
	if _, err := Load(home); err == nil {
		t.Fatal("Load of a fresh home succeeded")
	}
	a, err := LoadOrCreate(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.NodeID) != 17 || a.NodeID[0] != 'n' {
		t.Fatalf("node id %q", a.NodeID)
	}
	for _, f := range []string{Ed25519File, MLDSA65File} {
		st, err := os.Stat(filepath.Join(home, Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
			t.Fatalf("%s mode %v", f, st.Mode())
		}
	}
	b, err := Load(home)
	if err != nil {
		t.Fatal(err)
	}
	if a.NodeID != b.NodeID || !bytes.Equal(a.Ed25519, b.Ed25519) || !a.MLDSA65.Equal(b.MLDSA65) {
		t.Fatal("reloaded identity differs")
	}
	if runtime.GOOS != "windows" {
		if err := os.Chmod(filepath.Join(home, Dir, Ed25519File), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(home); !errors.Is(err, ErrBadKey) {
			t.Fatalf("world-readable key: %v", err)
		}
	}
}

func TestBadSeed(t *testing.T) {
	home := t.TempDir()
	if _, err := LoadOrCreate(home); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, Dir, MLDSA65File), []byte("xyz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(home); !errors.Is(err, ErrBadKey) {
		t.Fatalf("garbage seed: %v", err)
	}
}
