package memory_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/memory"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestIngestResumable(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "notes.md"), "# Deploys\n\nThe deploy runs nightly at two.\n\n# Keys\n\nRotate keys monthly.\n")
	writeFile(t, filepath.Join(src, "sub", "todo.txt"), "buy milk\n\ncall the plumber about the leak\n")
	writeFile(t, filepath.Join(src, "sub", "main.go"), "package main\n\nfunc main() { println(\"hi\") }\n")
	writeFile(t, filepath.Join(src, "blob.txt"), "binary\x00data")
	writeFile(t, filepath.Join(src, "bad.md"), "\xff\xfe not utf-8")
	writeFile(t, filepath.Join(src, "image.png"), "PNG")
	writeFile(t, filepath.Join(src, ".git", "HEAD.md"), "ref: refs/heads/main\n")
	extra := filepath.Join(t.TempDir(), "single.conf") // named explicitly: any extension
	writeFile(t, extra, "listen = 8443\n")

	dir := t.TempDir()
	s := open(t, dir, lexical(t, 0), false)
	var progress []memory.IngestProgress
	res, err := s.Ingest(ctx, []string{src, extra}, memory.IngestOptions{MaxChars: 40, Meta: memory.Meta{Agent: "op", Tags: []string{"docs"}}},
		func(p memory.IngestProgress) { progress = append(progress, p) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 6 || res.Ingested != 4 || res.Skipped != 2 || res.Unchanged != 0 || res.Created != 8 || res.Chunks != 8 {
		t.Fatalf("first run %+v", res)
	}
	if len(progress) != 6 || progress[5].FilesDone != 6 || progress[5].FilesTotal != 6 ||
		progress[5].BytesDone != progress[5].BytesTotal || progress[5].Created != 8 {
		t.Fatalf("progress %+v", progress)
	}
	hits, err := s.Search(ctx, "the deploy runs nightly", 1, memory.Filter{Tags: []string{"docs"}})
	if err != nil || len(hits) != 1 || !strings.Contains(hits[0].Record.Text, "nightly") ||
		hits[0].Record.Meta.Source != filepath.Join(src, "notes.md") || hits[0].Record.Meta.Agent != "op" {
		t.Fatalf("search %+v %v", hits, err)
	}
	closeStore(t, s)

	// A second run (after a restart) ingests nothing.
	emb := lexical(t, 0)
	s = open(t, dir, emb, false)
	defer closeStore(t, s)
	res, err = s.Ingest(ctx, []string{src, extra}, memory.IngestOptions{MaxChars: 40}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ingested != 0 || res.Unchanged != 4 || res.Skipped != 2 || res.Created != 0 || emb.texts.Load() != 0 {
		t.Fatalf("second run %+v, embedded %d", res, emb.texts.Load())
	}

	// Touching a file without changing it re-hashes it but stores nothing.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(src, "notes.md"), future, future); err != nil {
		t.Fatal(err)
	}
	res, err = s.Ingest(ctx, []string{src, extra}, memory.IngestOptions{MaxChars: 40}, nil)
	if err != nil || res.Ingested != 0 || res.Unchanged != 4 || emb.texts.Load() != 0 {
		t.Fatalf("touched run %+v %v", res, err)
	}

	// Changing a file re-ingests only it.
	writeFile(t, filepath.Join(src, "sub", "todo.txt"), "buy milk\n\ncall the electrician\n")
	res, err = s.Ingest(ctx, []string{src, extra}, memory.IngestOptions{MaxChars: 40}, nil)
	if err != nil || res.Ingested != 1 || res.Unchanged != 3 || res.Created != 1 || res.Chunks != 1 {
		t.Fatalf("changed run %+v %v", res, err)
	}
	st, _ := s.Stats(ctx)
	if st.Files != 4 || st.Records != 9 {
		t.Fatalf("stats %+v", st)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, "binary") }) {
		t.Fatalf("notes %q", res.Notes)
	}
	if _, err := s.Ingest(ctx, []string{filepath.Join(src, "missing")}, memory.IngestOptions{}, nil); err == nil {
		t.Fatal("missing path accepted")
	}
}

func TestIngestCancelled(t *testing.T) {
	src := t.TempDir()
	for _, n := range []string{"a.md", "b.md"} {
		writeFile(t, filepath.Join(src, n), "some text "+n)
	}
	s := open(t, t.TempDir(), lexical(t, 0), true)
	defer closeStore(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	res, err := s.Ingest(ctx, []string{src}, memory.IngestOptions{}, func(memory.IngestProgress) { cancel() })
	if err == nil || res.Ingested != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	// the interrupted run resumes where it stopped
	res, err = s.Ingest(context.Background(), []string{src}, memory.IngestOptions{}, nil)
	if err != nil || res.Ingested != 1 || res.Unchanged != 1 {
		t.Fatalf("resume %+v %v", res, err)
	}
}
