package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/cmdline"
)

// problemLine extracts "store corrupt: KIND at seq N (SEGMENT offset X)"
// from an error, the part offline and online verification must agree on.
var problemLine = regexp.MustCompile(`store corrupt: [a-z-]+ at seq \d+ \(\d+\.seg offset \d+\)`)

// TestDamagedChainAtBoot: acknowledged chain data cut or damaged is never
// "repaired" by truncation. Offline verify names the damage; a dev node
// boots without the chain, degraded, refusing every privileged act, and
// online verify names the same damage; prod refuses to boot; the damaged
// file is left as it was. Derived files, by contrast, are rebuilt.
func TestDamagedChainAtBoot(t *testing.T) {
	bin := buildWeave(t)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, seg string, size int64)
	}{
		{"cut in half", func(t *testing.T, seg string, size int64) {
			if err := os.Truncate(seg, size/2); err != nil {
				t.Fatal(err)
			}
		}},
		{"byte flipped near the end", func(t *testing.T, seg string, size int64) { flip(t, seg, size-5) }},
		{"byte flipped mid-segment", func(t *testing.T, seg string, size int64) { flip(t, seg, size/3) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &cli{t: t, bin: bin, home: filepath.Join(t.TempDir(), "home")}
			c.ok("boot", "--detach")
			t.Cleanup(func() { c.run("shutdown") })
			for _, n := range []string{"a", "b", "c"} {
				c.ok("agent", "spawn", n)
			}
			c.ok("shutdown")
			seg := filepath.Join(c.home, "chain", "00000000.seg")
			st, err := os.Stat(seg)
			if err != nil {
				t.Fatal(err)
			}
			tc.damage(t, seg, st.Size())
			damaged, _ := os.ReadFile(seg)

			_, offline, code := c.run("chain", "verify")
			want := problemLine.FindString(offline)
			if code != cmdline.ExitError || want == "" {
				t.Fatalf("offline verify: exit %d %q", code, offline)
			}
			c.ok("boot", "--detach")
			if out := c.ok("status"); !strings.Contains(out, "degraded") || !strings.Contains(out, want) {
				t.Fatalf("status does not name the damage (%s):\n%s", want, out)
			}
			_, online, code := c.run("chain", "verify")
			if code != cmdline.ExitError || problemLine.FindString(online) != want {
				t.Fatalf("online verify: exit %d %q, offline said %q", code, online, want)
			}
			c.fail(cmdline.ExitError, "chain", "agent", "spawn", "d")
			c.ok("shutdown")
			if after, _ := os.ReadFile(seg); string(after) != string(damaged) {
				t.Fatal("the damaged segment was modified")
			}
			if err := os.WriteFile(filepath.Join(c.home, "weftos.toml"), []byte("[governance]\nenvironment = \"prod\"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, errs, code := c.run("boot")
			if all := problemLine.FindAllString(errs, -1); code != cmdline.ExitError || len(all) == 0 || all[len(all)-1] != want {
				t.Fatalf("prod boot on a damaged chain: exit %d %q", code, errs)
			}
		})
	}
	t.Run("derived files rebuilt", func(t *testing.T) {
		c := &cli{t: t, bin: bin, home: filepath.Join(t.TempDir(), "home")}
		c.ok("boot", "--detach")
		t.Cleanup(func() { c.run("shutdown") })
		c.ok("agent", "spawn", "a")
		c.ok("shutdown")
		if err := os.WriteFile(filepath.Join(c.home, "chain", "index.dat"), []byte("garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
		c.ok("boot", "--detach")
		if out := c.ok("status"); !strings.Contains(out, "healthy") {
			t.Fatalf("status after a derived-file repair:\n%s", out)
		}
		c.ok("chain", "verify")
		if out := c.ok("chain", "tail", "-n", "100", "--kind", "chain.repair"); !strings.Contains(out, "rebuilt") {
			t.Fatalf("the repair is not on the chain:\n%s", out)
		}
	})
}

func flip(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
