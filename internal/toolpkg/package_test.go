package toolpkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func uleb(v uint32) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

func wstr(s string) []byte { return append(uleb(uint32(len(s))), s...) }

func section(id byte, items ...[]byte) []byte {
	p := uleb(uint32(len(items)))
	for _, it := range items {
		p = append(p, it...)
	}
	return append(append([]byte{id}, uleb(uint32(len(p)))...), p...)
}

// commandModule is a minimal WASI command importing the given functions.
func commandModule(imports ...[2]string) []byte {
	out := append([]byte(nil), wasmHeader...)
	out = append(out, section(1, []byte{0x60, 0, 0})...)
	var ims [][]byte
	for _, im := range imports {
		ims = append(ims, append(append(wstr(im[0]), wstr(im[1])...), 0x00, 0))
	}
	if len(ims) > 0 {
		out = append(out, section(2, ims...)...)
	}
	out = append(out, section(3, []byte{0})...)
	out = append(out, section(7, append(wstr("_start"), 0x00, byte(len(imports))))...)
	return append(out, section(10, []byte{2, 0, 0x0b})...)
}

const manifestTOML = `name = "demo"
version = "1.2.3-beta.1"
description = "demo tool"
module = "tool.wasm"
input_schema = "schema.json"
[limits]
memory_mib = 16
fuel = 1000000
timeout_ms = 500
[grants]
mounts = [{ host = "data", guest = "/data", mode = "ro" }, { host = "/var/tmp", guest = "/tmp", mode = "rw" }]
hosts = ["api.example.com"]
env = ["LANG"]
`

// writePackage writes a package directory and returns it.
func writePackage(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func goodFiles() map[string]string {
	return map[string]string{
		ManifestFile:  manifestTOML,
		"tool.wasm":   string(commandModule([2]string{"wasi_snapshot_preview1", "fd_write"}, [2]string{"weftos", "log"})),
		"schema.json": `{"type":"object"}`,
		"data/":       "",
	}
}

func TestLoadDir(t *testing.T) {
	dir := writePackage(t, goodFiles())
	p, err := LoadDir(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Manifest.Name != "demo" || string(p.InputSchema) != `{"type":"object"}` || len(p.Module.Imports) != 2 {
		t.Errorf("package %+v", p)
	}
	mounts := p.Mounts()
	if len(mounts) != 2 || mounts[0].HostPath != filepath.Join(dir, "data") || !mounts[0].ReadOnly ||
		mounts[1].HostPath != "/var/tmp" || mounts[1].ReadOnly {
		t.Errorf("mounts %+v", mounts)
	}
}

func TestLoadDirErrors(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "evil.wasm"), commandModule(), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edit  func(files map[string]string)
		after func(t *testing.T, dir string)
		want  error
		msg   string
	}{
		{"no manifest", func(f map[string]string) { delete(f, ManifestFile) }, nil, ErrManifest, "tool.toml"},
		{"no module", func(f map[string]string) { delete(f, "tool.wasm") }, nil, ErrModule, "tool.wasm"},
		{"not wasm", func(f map[string]string) { f["tool.wasm"] = "#!/bin/sh" }, nil, ErrModule, "not a WebAssembly"},
		{"import not offered", func(f map[string]string) {
			f["tool.wasm"] = string(commandModule([2]string{"env", "system"}))
		}, nil, ErrImportNotAllowed, "env.system"},
		{"socket import", func(f map[string]string) {
			f["tool.wasm"] = string(commandModule([2]string{"wasi_snapshot_preview1", "sock_accept"}))
		}, nil, ErrImportNotAllowed, "sock_accept"},
		{"start section", func(f map[string]string) {
			m := commandModule()
			f["tool.wasm"] = string(append(m[:len(m)-6:len(m)-6], append(section8(), m[len(m)-6:]...)...))
		}, nil, ErrModule, "start section"},
		{"no schema file", func(f map[string]string) { delete(f, "schema.json") }, nil, ErrManifest, "input_schema"},
		{"schema not object", func(f map[string]string) { f["schema.json"] = "[1]" }, nil, ErrManifest, "not a JSON object"},
		{"mount dir missing", func(f map[string]string) { delete(f, "data/") }, nil, ErrManifest, "grants.mounts[0].host"},
		{"module symlink escapes", func(f map[string]string) { delete(f, "tool.wasm") }, func(t *testing.T, dir string) {
			if err := os.Symlink(filepath.Join(outside, "evil.wasm"), filepath.Join(dir, "tool.wasm")); err != nil {
				t.Fatal(err)
			}
		}, ErrModule, "escapes"},
		{"mount symlink escapes", func(f map[string]string) { delete(f, "data/") }, func(t *testing.T, dir string) {
			if err := os.Symlink(outside, filepath.Join(dir, "data")); err != nil {
				t.Fatal(err)
			}
		}, ErrManifest, "escapes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := goodFiles()
			tt.edit(files)
			dir := writePackage(t, files)
			if tt.after != nil {
				tt.after(t, dir)
			}
			_, err := LoadDir(dir, Options{})
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err %v, want %v mentioning %q", err, tt.want, tt.msg)
			}
		})
	}
	t.Run("module too large", func(t *testing.T) {
		dir := writePackage(t, goodFiles())
		if _, err := LoadDir(dir, Options{MaxModuleBytes: 10}); !errors.Is(err, ErrModule) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("custom import policy", func(t *testing.T) {
		dir := writePackage(t, goodFiles())
		deny := func(mod, name string) bool { return name != "log" }
		if _, err := LoadDir(dir, Options{Imports: deny}); !errors.Is(err, ErrImportNotAllowed) {
			t.Fatalf("err %v", err)
		}
	})
}

type entry struct {
	hdr  tar.Header
	body string
}

func tarGz(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if e.body != "" {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func file(name, body string) entry {
	return entry{hdr: tar.Header{Name: name, Typeflag: tar.TypeReg}, body: body}
}

func TestLoadArchive(t *testing.T) {
	files := goodFiles()
	arc := tarGz(t,
		entry{hdr: tar.Header{Name: "demo/", Typeflag: tar.TypeDir, Mode: 0o755}},
		file("demo/tool.toml", files[ManifestFile]),
		file("demo/tool.wasm", files["tool.wasm"]),
		file("demo/schema.json", files["schema.json"]),
		entry{hdr: tar.Header{Name: "demo/data/", Typeflag: tar.TypeDir, Mode: 0o755}},
		file("demo/data/words.txt", "hello"),
	)
	path := filepath.Join(t.TempDir(), "demo.tar.gz")
	if err := os.WriteFile(path, arc, 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "x")
	p, err := Load(path, dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Dir != filepath.Join(dst, "demo") || p.Manifest.Name != "demo" {
		t.Errorf("loaded %s %s", p.Dir, p.Manifest.Name)
	}
	if b, err := os.ReadFile(filepath.Join(p.Dir, "data", "words.txt")); err != nil || string(b) != "hello" {
		t.Errorf("data file %q %v", b, err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.zip"), dst, Options{}); err == nil {
		t.Error("missing path accepted")
	}
}

func TestExtractRefusesUnsafeArchives(t *testing.T) {
	big := strings.Repeat("\x00", 2<<20)
	tests := []struct {
		name string
		data []byte
		lim  ArchiveLimits
		msg  string
	}{
		{"absolute path", tarGz(t, file("/etc/cron.d/x", "x")), ArchiveLimits{}, "absolute"},
		{"dotdot", tarGz(t, file("a/../../x", "x")), ArchiveLimits{}, "not clean"},
		{"dotdot prefix", tarGz(t, file("../x", "x")), ArchiveLimits{}, ".."},
		{"symlink", tarGz(t, entry{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}), ArchiveLimits{}, "links"},
		{"symlink then write through it", tarGz(t,
			entry{hdr: tar.Header{Name: "d", Typeflag: tar.TypeSymlink, Linkname: "/tmp"}},
			file("d/x", "x")), ArchiveLimits{}, "links"},
		{"hardlink", tarGz(t, file("a", "x"), entry{hdr: tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}}), ArchiveLimits{}, "links"},
		{"device", tarGz(t, entry{hdr: tar.Header{Name: "dev", Typeflag: tar.TypeChar}}), ArchiveLimits{}, "special"},
		{"fifo", tarGz(t, entry{hdr: tar.Header{Name: "p", Typeflag: tar.TypeFifo}}), ArchiveLimits{}, "special"},
		{"duplicate", tarGz(t, file("a", "1"), file("./a", "2")), ArchiveLimits{}, "duplicate"},
		{"backslash", tarGz(t, file(`..\x`, "x")), ArchiveLimits{}, "invalid"},
		{"file too big", tarGz(t, file("big", big)), ArchiveLimits{MaxFileBytes: 1 << 20}, "limit"},
		{"total too big", tarGz(t, file("a", big), file("b", big)), ArchiveLimits{MaxTotalBytes: 3 << 20}, "exceeds"},
		{"too many files", tarGz(t, file("a", "1"), file("b", "2"), file("c", "3")), ArchiveLimits{MaxFiles: 2}, "entries"},
		{"not gzip", []byte("PK\x03\x04 zip file"), ArchiveLimits{}, "not gzip"},
		{"truncated", tarGz(t, file("a", big))[:2000], ArchiveLimits{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dst := filepath.Join(base, "pkg")
			err := Extract(bytes.NewReader(tt.data), dst, tt.lim)
			if !errors.Is(err, ErrArchive) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err %v, want ErrArchive mentioning %q", err, tt.msg)
			}
			// Nothing may appear next to the destination.
			ents, _ := os.ReadDir(base)
			if len(ents) != 1 {
				t.Errorf("extraction wrote outside dst: %v", ents)
			}
		})
	}
	t.Run("non-empty destination", func(t *testing.T) {
		dst := t.TempDir()
		if err := os.WriteFile(filepath.Join(dst, "x"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := Extract(bytes.NewReader(tarGz(t, file("a", "1"))), dst, ArchiveLimits{}); !errors.Is(err, ErrArchive) {
			t.Fatalf("err %v", err)
		}
	})
}

// TestExampleToolPackage builds examples/tools/echo for wasip1 and loads
// it as a package with its manifest, checking the documented example is a
// valid package.
func TestExampleToolPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasip1 binary")
	}
	dir := t.TempDir()
	manifest, err := os.ReadFile("../../examples/tools/echo/tool.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "tool.wasm"), "../../examples/tools/echo")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	p, err := LoadDir(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Manifest.Name != "echo" || !bytes.Contains(p.InputSchema, []byte(`"required":["text"]`)) {
		t.Errorf("package %+v schema %s", p.Manifest, p.InputSchema)
	}
	var weftos int
	for _, im := range p.Module.Imports {
		if im.Module == "weftos" {
			weftos++
		}
	}
	if weftos != 2 {
		t.Errorf("imports %v: want weftos.log and weftos.http_fetch", p.Module.Imports)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(tarGz(f, file("tool.toml", "name = 'x'"), file("d/tool.wasm", "\x00asm")))
	f.Add(tarGz(f, entry{hdr: tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../x"}}))
	f.Add(tarGz(f, file("../x", "x")))
	f.Add([]byte{0x1f, 0x8b, 0x08})
	f.Fuzz(func(t *testing.T, data []byte) {
		base := t.TempDir()
		dst := filepath.Join(base, "out")
		err := Extract(bytes.NewReader(data), dst, ArchiveLimits{MaxFiles: 50, MaxFileBytes: 1 << 20, MaxTotalBytes: 4 << 20})
		if err != nil && !errors.Is(err, ErrArchive) {
			t.Fatalf("error %v does not wrap ErrArchive", err)
		}
		// Whatever happened, nothing outside dst, and no links inside.
		ents, _ := os.ReadDir(base)
		if len(ents) != 1 {
			t.Fatalf("wrote outside dst: %v", ents)
		}
		_ = filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type()&os.ModeSymlink != 0 {
				t.Fatalf("symlink extracted: %s", p)
			}
			return nil
		})
	})
}

func FuzzValidateModule(f *testing.F) {
	f.Add(commandModule())
	f.Add(commandModule([2]string{"weftos", "log"}))
	f.Add(commandModule([2]string{"env", "x"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := ValidateModule(data, 1<<20, nil)
		if err != nil {
			if !errors.Is(err, ErrModule) && !errors.Is(err, ErrImportNotAllowed) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		for _, im := range info.Imports {
			if !DefaultImports(im.Module, im.Name) {
				t.Fatalf("accepted import %v", im)
			}
		}
	})
}

// section8 is a start section naming function 0.
func section8() []byte { return []byte{8, 1, 0} }
