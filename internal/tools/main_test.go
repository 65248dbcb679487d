package tools

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newEnv opens an Env on a fresh workspace inside a fresh parent directory
// (so tests can put "outside" files next to the workspace).
func newEnv(t testing.TB, pol Policy, k Kernel) (*Env, string, string) {
	t.Helper()
	parent := t.TempDir()
	ws := filepath.Join(parent, "ws")
	outside := filepath.Join(parent, "outside")
	for _, d := range []string{ws, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("TOP SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env, err := OpenEnv(ws, pol, k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env, env.Workspace(), filepath.Join(parent, "outside")
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tool(t testing.TB, name string) Tool {
	t.Helper()
	tl, ok := Default().Get(name)
	if !ok {
		t.Fatalf("no tool %s", name)
	}
	return tl
}

// wantCode checks err carries code (and its sentinel); code "" means no error.
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("want %s error, got nil", code)
	}
	if got := ErrorCode(err); got != code {
		t.Fatalf("want code %s, got %s (%v)", code, got, err)
	}
	if !errors.Is(err, sentinels[code]) {
		t.Fatalf("errors.Is(%v, sentinel %s) is false", err, code)
	}
}

func decodeInto[T any](t testing.TB, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}
