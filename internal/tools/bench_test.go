package tools

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkReadFileSmall: read_file on a 1 KiB file, validation included.
func BenchmarkReadFileSmall(b *testing.B) {
	env, ws, _ := newEnv(b, Policy{}, nil)
	if err := os.WriteFile(filepath.Join(ws, "small.txt"), []byte(strings.Repeat("0123456789abcdef\n", 60)), 0o644); err != nil {
		b.Fatal(err)
	}
	rf := tool(b, "read_file")
	in := json.RawMessage(`{"path":"small.txt"}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rf.Run(ctx, env, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteFileSmall: atomic write_file of 1 KiB (temp file, fsync,
// rename), validation included.
func BenchmarkWriteFileSmall(b *testing.B) {
	env, _, _ := newEnv(b, Policy{}, nil)
	wf := tool(b, "write_file")
	in, _ := json.Marshal(map[string]string{"path": "dir/small.txt", "content": strings.Repeat("0123456789abcdef\n", 60)})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wf.Run(ctx, env, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate: schema validation of a typical edit_file input.
func BenchmarkValidate(b *testing.B) {
	ef := tool(b, "edit_file")
	in := json.RawMessage(`{"path":"src/main.go","old_string":"func main() {\n","new_string":"func main() {\n\tlog.Println(\"start\")\n"}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := ValidateInput(ef, in); err != nil {
			b.Fatal(err)
		}
	}
}
