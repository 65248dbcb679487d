package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the module root, two levels up from this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Skip("not in the source tree")
	}
	return root
}

// TestMakefilePackagesExist: every ./package the Makefile names is a Go
// package (make bench once named ./internal/chain, which does not exist).
func TestMakefilePackagesExist(t *testing.T) {
	root := repoRoot(t)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	pkgs := regexp.MustCompile(`(?m)\s(\./[A-Za-z0-9_/.-]+)`).FindAllSubmatch(mk, -1)
	if len(pkgs) == 0 {
		t.Fatal("no package paths found in the Makefile")
	}
	for _, m := range pkgs {
		p, tree := strings.CutSuffix(string(m[1]), "/...")
		if p == "." || strings.HasPrefix(p, "./.ci") {
			continue
		}
		if tree {
			if fi, err := os.Stat(filepath.Join(root, p)); err != nil || !fi.IsDir() {
				t.Errorf("Makefile names %s, which is not a directory", m[1])
			}
			continue
		}
		gos, _ := filepath.Glob(filepath.Join(root, p, "*.go"))
		if len(gos) == 0 {
			t.Errorf("Makefile names %s, which holds no Go package", m[1])
		}
	}
}

// TestNoCommittedBinaries: built programs and WebAssembly modules are never
// tracked; tests build what they need from source.
func TestNoCommittedBinaries(t *testing.T) {
	root := repoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("git ls-files: %v", err)
	}
	magic := map[string][]byte{"ELF": []byte("\x7fELF"), "wasm": []byte("\x00asm"), "Mach-O": {0xcf, 0xfa, 0xed, 0xfe}, "PE": []byte("MZ")}
	for _, name := range bytes.Split(bytes.TrimRight(out, "\x00"), []byte{0}) {
		f, err := os.Open(filepath.Join(root, string(name)))
		if err != nil {
			continue // deleted in the work tree
		}
		head := make([]byte, 4)
		n, _ := f.Read(head)
		f.Close()
		for kind, m := range magic {
			if n >= len(m) && bytes.Equal(head[:len(m)], m) {
				t.Errorf("%s is a committed %s binary", name, kind)
			}
		}
	}
}

// TestCLIReachesTheDaemonOnlyThroughTheClient: of the CLIs' files, only
// the ones that boot a kernel (weave boot, weft's in-process kernel)
// import internal/daemon; every other command speaks to the daemon through
// internal/client and the types of internal/apitype.
func TestCLIReachesTheDaemonOnlyThroughTheClient(t *testing.T) {
	root := repoRoot(t)
	allowed := map[string]bool{"cmd/weave/boot.go": true, "cmd/weft/main.go": true}
	for _, dir := range []string{"cmd/weave", "cmd/weft"} {
		files, _ := filepath.Glob(filepath.Join(root, dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rel := filepath.ToSlash(strings.TrimPrefix(f, root+string(filepath.Separator)))
			if bytes.Contains(src, []byte(`"github.com/weftos/weftos/internal/daemon"`)) && !allowed[rel] {
				t.Errorf("%s imports internal/daemon; use internal/client", rel)
			}
		}
	}
}
