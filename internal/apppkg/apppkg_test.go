package apppkg

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// exampleApp copies examples/apps/research into a temporary directory and
// builds its WASM tool from source.
func exampleApp(t testing.TB) string {
	t.Helper()
	src := "../../examples/apps/research"
	dst := filepath.Join(t.TempDir(), "research")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dst, "tools/wordcount/tool.wasm"), ".")
	build.Dir = filepath.Join(src, "tools/wordcount")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building wordcount: %v\n%s", err, out)
	}
	return dst
}

func tarGz(t testing.TB, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestExampleApp(t *testing.T) {
	dir := exampleApp(t)
	pkg, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := pkg.Manifest
	if m.Name != "research" || m.Version != "0.1.0" || len(m.Agents) != 1 || len(m.Skills) != 1 || len(m.Tools) != 1 ||
		len(m.Services) != 1 || len(m.Cron) != 1 || m.Config["digest_length"].Type != TypeInt || *m.Config["digest_length"].Default != "200" {
		t.Fatalf("manifest %+v", m)
	}
	if pkg.Trust(nil) != "unsigned" || len(pkg.Digest) != 64 {
		t.Fatalf("trust %q digest %q", pkg.Trust(nil), pkg.Digest)
	}
	// The same package as an archive has the same digest.
	arch, err := LoadArchive(bytes.NewReader(tarGz(t, dir)))
	if err != nil {
		t.Fatal(err)
	}
	if arch.Digest != pkg.Digest {
		t.Fatalf("archive digest %s, directory %s", arch.Digest, pkg.Digest)
	}
	tmp := arch.Dir
	if err := arch.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("extraction left behind: %v", err)
	}

	// Signed: trusted by its key only; the digest does not cover the
	// signature; a changed file breaks it.
	pub, priv, _ := ed25519.GenerateKey(nil)
	signed, err := Sign(dir, priv)
	if err != nil {
		t.Fatal(err)
	}
	key := hex.EncodeToString(pub)
	if signed.Digest != pkg.Digest || signed.Publisher != key || signed.Trust([]string{key}) != "trusted" || signed.Trust([]string{"00"}) != "untrusted" {
		t.Fatalf("signed %+v", signed)
	}
	if err := os.WriteFile(filepath.Join(dir, "skills/notes/SKILL.md"), []byte("---\nname: notes\ndescription: x\n---\nchanged\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered package: %v", err)
	}
}

// tarOf builds a .tar.gz from entries.
func tarOf(t testing.TB, entries ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, h := range entries {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.CopyN(tw, zeros{}, h.Size); err != nil {
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

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestUnsafePackages(t *testing.T) {
	reg := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeReg, Size: size, Mode: 0o644}
	}
	for name, archive := range map[string][]byte{
		"traversal":     tarOf(t, reg("../evil", 1)),
		"absolute":      tarOf(t, reg("/etc/evil", 1)),
		"symlink":       tarOf(t, &tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}),
		"hard link":     tarOf(t, reg("a", 1), &tar.Header{Name: "b", Typeflag: tar.TypeLink, Linkname: "a"}),
		"device":        tarOf(t, &tar.Header{Name: "dev", Typeflag: tar.TypeChar}),
		"size bomb":     tarOf(t, reg("big", MaxFileBytes+1)),
		"not gzip":      []byte("plain text"),
		"no manifest":   tarOf(t, reg("readme", 1)),
		"duplicate":     tarOf(t, reg("a", 1), reg("a", 1)),
		"manifest zero": tarOf(t, reg(ManifestFile, 10)),
	} {
		t.Run(name, func(t *testing.T) {
			pkg, err := LoadArchive(bytes.NewReader(archive))
			if err == nil {
				pkg.Close()
				t.Fatal("loaded")
			}
			if !errors.Is(err, ErrPackage) && !errors.Is(err, ErrManifest) {
				t.Fatalf("error %v is neither ErrPackage nor ErrManifest", err)
			}
		})
	}

	// A directory holding a symlink is refused too.
	dir := exampleApp(t)
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "skills/notes/passwd")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); !errors.Is(err, ErrPackage) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("symlink in a directory: %v", err)
	}
}

func TestManifestErrors(t *testing.T) {
	base := "name = \"a\"\nversion = \"1.0.0\"\n"
	for _, tc := range []struct{ name, toml, want string }{
		{"unknown key", base + "bogus = 1\n", "bogus"},
		{"bad name", "name = \"A!\"\nversion = \"1.0.0\"\n", "name"},
		{"bad version", "name = \"a\"\nversion = \"1\"\n", "version"},
		{"traversal", base + "agents = [\"../x.yaml\"]\n", "leaves the package"},
		{"absolute", base + "skills = [\"/etc\"]\n", "clean relative path"},
		{"unclean", base + "tools = [\"a/../b\"]\n", "clean relative path"},
		{"not yaml", base + "agents = [\"agents/a.txt\"]\n", ".yaml"},
		{"service not an agent", base + "[[services]]\nagent = \"x\"\n", "not an agent of the app"},
		{"cron not a service", base + "agents = [\"a.yaml\"]\n[[cron]]\nschedule = \"@every 1h\"\nagent = \"a\"\nmessage = \"m\"\n", "not a service"},
		{"bad restart", base + "agents = [\"a.yaml\"]\n[[services]]\nagent = \"a\"\nrestart = \"sometimes\"\n", "restart"},
		{"bad capability", base + "[requests]\ncapabilities = [\"CAN NET\"]\n", "capability"},
		{"bad host", base + "[requests]\nhosts = [\"http://x\"]\n", "host"},
		{"bad config key", base + "[config]\n\"A B\" = \"x\"\n", "config"},
		{"signature path", base + "agents = [\"weftapp.sig\"]\n", "own file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tc.toml))
			if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := ParseManifest([]byte(base)); err != nil {
		t.Fatalf("minimal manifest: %v", err)
	}
}

func TestBadSignatures(t *testing.T) {
	dir := exampleApp(t)
	_, priv, _ := ed25519.GenerateKey(nil)
	for name, content := range map[string]string{
		"not json":   "nope",
		"short key":  `{"key":"00","sig":"00"}`,
		"extra":      `{"key":"00","sig":"00","x":1}`,
		"wrong sig":  `{"key":"` + hex.EncodeToString(priv.Public().(ed25519.PublicKey)) + `","sig":"` + strings.Repeat("00", 64) + `"}`,
		"short sig":  `{"key":"` + hex.EncodeToString(priv.Public().(ed25519.PublicKey)) + `","sig":"00"}`,
		"large file": strings.Repeat(" ", 5000),
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, SignatureFile), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadDir(dir); !errors.Is(err, ErrSignature) {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func FuzzParseManifest(f *testing.F) {
	ex, err := os.ReadFile("../../examples/apps/research/weftapp.toml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ex)
	f.Add([]byte("name = \"a\"\nversion = \"1.0.0\"\nagents = [\"../x.yaml\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			if !errors.Is(err, ErrManifest) {
				t.Fatalf("error %v is not ErrManifest", err)
			}
			return
		}
		for _, p := range append(append(append([]string{}, m.Agents...), m.Skills...), m.Tools...) {
			if checkPath(p) != nil {
				t.Fatalf("accepted path %q", p)
			}
		}
	})
}

func FuzzLoadArchive(f *testing.F) {
	reg := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: tar.TypeReg, Size: size, Mode: 0o644}
	}
	f.Add(tarOf(f, reg("../evil", 1)))
	f.Add(tarOf(f, &tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "/"}))
	f.Add(tarOf(f, reg(ManifestFile, 3)))
	var ok bytes.Buffer
	gz := gzip.NewWriter(&ok)
	tw := tar.NewWriter(gz)
	body := []byte("name = \"a\"\nversion = \"1.0.0\"\n")
	_ = tw.WriteHeader(reg(ManifestFile, int64(len(body))))
	_, _ = tw.Write(body)
	_ = tw.Close()
	_ = gz.Close()
	f.Add(ok.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		pkg, err := LoadArchive(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrPackage) && !errors.Is(err, ErrManifest) && !errors.Is(err, ErrSignature) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		defer pkg.Close()
		for _, file := range pkg.Files {
			if checkPath(file) != nil && file != ManifestFile && file != SignatureFile {
				t.Fatalf("loaded a file outside the package: %q", file)
			}
			fi, err := os.Lstat(filepath.Join(pkg.Dir, filepath.FromSlash(file)))
			if err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("%s: %v %v", file, fi, err)
			}
		}
	})
}
