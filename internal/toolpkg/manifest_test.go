package toolpkg

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParseValidManifest(t *testing.T) {
	data, err := os.ReadFile("testdata/manifests/valid.toml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest("valid.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	want := Manifest{
		Name: "echo", Version: "0.1.0", Description: "Returns its input", Module: "tool.wasm",
		Limits: Limits{MemoryMiB: 16, Fuel: 10_000_000, TimeoutMS: 2000},
		Grants: Grants{
			Mounts: []MountGrant{{Host: "data", Guest: "/data", Mode: "ro"}},
			Hosts:  []string{"api.example.com"}, Env: []string{"LANG"},
		},
	}
	got := *m
	got.Input = nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("manifest\n got %+v\nwant %+v", got, want)
	}
	schema, err := m.SchemaJSON(nil)
	if err != nil || string(schema) != `{"properties":{"text":{"type":"string"}},"type":"object"}` {
		t.Errorf("schema %s %v", schema, err)
	}
}

// TestManifestErrorsGolden checks the error message (file:line: field:
// msg) of every bad manifest in testdata/manifests against
// testdata/manifests/errors.golden. Run with -update to rewrite it.
func TestManifestErrorsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/manifests/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var got strings.Builder
	for _, f := range files {
		base := filepath.Base(f)
		if base == "valid.toml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, perr := ParseManifest(base, data)
		if perr == nil {
			t.Errorf("%s: accepted", base)
			continue
		}
		var me *ManifestError
		if !errors.As(perr, &me) || !errors.Is(perr, ErrManifest) {
			t.Errorf("%s: error %T %v is not a *ManifestError", base, perr, perr)
		}
		fmt.Fprintln(&got, perr)
	}
	golden := "testdata/manifests/errors.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got.String() != string(want) {
		t.Errorf("errors differ from %s:\n got:\n%s\nwant:\n%s", golden, got.String(), want)
	}
}

func TestHostAndPathChecks(t *testing.T) {
	hosts := map[string]bool{
		"api.example.com": true, "localhost": true, "127.0.0.1": true, "api.example.com:8443": true,
		"[::1]:80": true, "x--y.io": true,
		"": false, "API.example.com": false, "a..b": false, "-a.com": false, "a.com:0": false,
		"a.com:99999": false, "a.com:08": false, "user@a.com": false, "a.com/path": false, "*.a.com": false,
	}
	for h, ok := range hosts {
		if err := checkHost(h); (err == nil) != ok {
			t.Errorf("checkHost(%q) = %v, want ok=%v", h, err, ok)
		}
	}
	paths := map[string]bool{
		"tool.wasm": true, "data/sub": true,
		"": false, ".": false, "..": false, "../x": false, "a/../b": false, "/abs": false, "a//b": false, `a\b`: false, "a/": false,
	}
	for p, ok := range paths {
		if err := checkPackagePath(p); (err == nil) != ok {
			t.Errorf("checkPackagePath(%q) = %v, want ok=%v", p, err, ok)
		}
	}
}

func TestManifestTooLarge(t *testing.T) {
	big := make([]byte, MaxManifestSize+1)
	if _, err := ParseManifest("big.toml", big); !errors.Is(err, ErrManifest) {
		t.Fatalf("err %v", err)
	}
}

func FuzzParseManifest(f *testing.F) {
	files, _ := filepath.Glob("testdata/manifests/*.toml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("[input]\n[input.a]\nb = 1979-05-27T07:32:00Z\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest("fuzz.toml", data)
		if err != nil {
			if !errors.Is(err, ErrManifest) {
				t.Fatalf("error %v does not wrap ErrManifest", err)
			}
			return
		}
		// Whatever parses must satisfy the documented invariants.
		if m.Limits.Fuel <= 0 || m.Limits.MemoryMiB == 0 || m.Limits.TimeoutMS <= 0 {
			t.Fatalf("accepted bad limits %+v", m.Limits)
		}
		if err := checkPackagePath(m.Module); err != nil {
			t.Fatalf("accepted module path %q", m.Module)
		}
		for _, mt := range m.Grants.Mounts {
			if !strings.HasPrefix(mt.Guest, "/") || (mt.Mode != "ro" && mt.Mode != "rw") {
				t.Fatalf("accepted mount %+v", mt)
			}
		}
	})
}
