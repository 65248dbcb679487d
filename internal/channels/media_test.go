package channels

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMediaPolicy(t *testing.T) {
	p := MediaPolicy{MaxBytes: 100, Types: []string{"text/*", "application/pdf"}}
	cases := []struct {
		a  Attachment
		ok bool
	}{
		{Attachment{MIME: "text/plain", Size: 10}, true},
		{Attachment{MIME: "Text/Markdown", Size: 0}, true},
		{Attachment{MIME: "application/pdf", Size: 100}, true},
		{Attachment{MIME: "application/pdf; version=1.7", Size: 1}, true},
		{Attachment{MIME: "application/pdf", Size: 101}, false},
		{Attachment{MIME: "image/png", Size: 1}, false},
		{Attachment{MIME: "", Size: 1}, false},
	}
	for _, c := range cases {
		if ok, why := p.Allows(c.a); ok != c.ok || !ok && why == "" {
			t.Errorf("%+v: %v %q", c.a, ok, why)
		}
	}
	if ok, _ := (MediaPolicy{Types: []string{"*/*"}}).Allows(Attachment{MIME: "text/plain"}); ok {
		t.Error("a zero cap takes files")
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{"notes.txt": "notes.txt", "../../etc/passwd": "passwd", `..\..\x.exe`: "x.exe",
		".bashrc": "bashrc", "a b/c d.txt": "c_d.txt", "": "file", "..": "file", "日本.txt": "_.txt"} {
		if got := safeName(in); got != want {
			t.Errorf("safeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeName(f *testing.F) {
	f.Add("../../x")
	f.Add("a\x00b")
	f.Fuzz(func(t *testing.T, s string) {
		n := safeName(s)
		if n == "" || strings.ContainsAny(n, `/\`) || strings.HasPrefix(n, ".") || len(n) > 80 || filepath.Base(n) != n {
			t.Fatalf("safeName(%q) = %q", s, n)
		}
	})
}

func TestReceiveCapsTheDownload(t *testing.T) {
	h := &Hub{Workspace: t.TempDir()}
	lying := Attachment{Name: "small.txt", MIME: "text/plain", Size: 5, Fetch: func(_ context.Context, w io.Writer, _ int64) error {
		_, err := io.Copy(w, bytes.NewReader(make([]byte, 500))) // far more than it said
		return err
	}}
	failing := Attachment{Name: "x.txt", MIME: "text/plain", Fetch: func(context.Context, io.Writer, int64) error { return errors.New("gone") }}
	note, recs := h.receive(context.Background(), "s", []Attachment{lying, failing}, MediaPolicy{MaxBytes: 100, Types: []string{"text/*"}})
	if len(recs) != 2 || recs[0].Refused == "" || recs[1].Refused == "" || !strings.Contains(note, "larger than the cap") {
		t.Fatalf("%q %+v", note, recs)
	}
	if ents, _ := os.ReadDir(filepath.Join(h.Workspace, "inbox", "s")); len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
}
