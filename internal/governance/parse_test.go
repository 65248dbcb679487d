package governance

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("missing golden file (run with -update): %v", err)
	}
	if string(want) != got {
		t.Fatalf("%s mismatch\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// TestParseGolden checks the problems reported for each file in
// testdata/parse against its .golden file: every line names file, line and
// field.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/parse/*.toml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(f)
			probs := Validate(name, data)
			var b strings.Builder
			for _, p := range probs {
				b.WriteString(p.String())
				b.WriteByte('\n')
			}
			golden(t, strings.TrimSuffix(f, ".toml")+".golden", b.String())
			_, perr := Parse(name, data)
			if hasErrors(probs) != (perr != nil) {
				t.Fatalf("Parse error %v disagrees with Validate %v", perr, probs)
			}
			if perr != nil && !errors.Is(perr, ErrInvalidConstitution) {
				t.Fatalf("error %v is not ErrInvalidConstitution", perr)
			}
			for _, p := range probs {
				if p.File != name || p.Line <= 0 || p.Message == "" {
					t.Errorf("badly located problem %+v", p)
				}
			}
		})
	}
}

func TestCanonicalRoundTrip(t *testing.T) {
	c := mustDefault(t)
	text := c.Canonical()
	c2 := mustParse(t, text)
	if c2.HashHex() != c.HashHex() || c2.Canonical() != text {
		t.Fatal("canonical text does not round-trip")
	}
	for _, r := range c.Rules {
		rt := r.Canonical()
		back, err := ParseRule("rule.toml", []byte(rt))
		if err != nil {
			t.Fatalf("%s: %v\n%s", r.ID, err, rt)
		}
		if back.Canonical() != rt {
			t.Fatalf("%s: rule text does not round-trip", r.ID)
		}
	}
	// Lists are sets: order and duplicates do not change the hash.
	a := mustParse(t, "[[rule]]\nid = \"x\"\nbranch = \"executive\"\nseverity = \"warning\"\noutcome = \"warn\"\n[rule.when]\nactions = [\"b\", \"a\", \"b\"]\n")
	b := mustParse(t, "[[rule]]\nid = \"x\"\nbranch = \"executive\"\nseverity = \"warning\"\noutcome = \"warn\"\n[rule.when]\nactions = [\"a\", \"b\"]\n")
	if a.HashHex() != b.HashHex() {
		t.Fatal("list order changes the hash")
	}
	if !slices.Equal(a.Rules[0].When.Actions, []string{"a", "b"}) {
		t.Fatalf("not normalised: %v", a.Rules[0].When.Actions)
	}
	// Strings with escapes, context keys that need quoting, every threshold.
	odd := mustParse(t, `[[rule]]
id = "odd"
description = "tab\there \"quoted\" back\\slash \u0001 é"
branch = "executive"
severity = "blocking"
outcome = "defer"
sanctions = ["revoke:can_network", "suspend", "warn"]
[rule.when]
context = { "odd key" = ["v*"], plain = ["x"] }
min_risk = 0.1
min_fairness = 0.2
min_privacy = 0.3
min_novelty = 0.4
min_security = 1
min_magnitude = 0
over_env_threshold = true
processes = ["p"]
apps = ["a"]
models = ["m"]
tools = ["t"]
paths = ["/p"]
hosts = ["h"]
agents = ["g"]
envs = ["prod", "dev"]
capabilities = ["c"]
without_capabilities = ["d"]
`)
	odd2 := mustParse(t, odd.Canonical())
	if odd2.Canonical() != odd.Canonical() {
		t.Fatalf("odd rule does not round-trip:\n%s\n%s", odd.Canonical(), odd2.Canonical())
	}
}

// TestHashVector pins the canonical text and its SHAKE-256/32 hash; the hash
// was computed independently (Python hashlib.shake_256(text).hexdigest(32)).
func TestHashVector(t *testing.T) {
	c := mustParse(t, `
# comments and key order do not matter
[[rule]]
id = "shell-requires-capability"
outcome = "deny"
severity = "blocking"
branch = "executive"
sanctions = ["warn", "warn"]
when = { without_capabilities = ["shell"], actions = ["tool.shell.*"] }
`)
	want := "format = 1\nrevision = 0\n\n[environments]\ndev = 0.9\nstaging = 0.6\nprod = 0.3\n\n" +
		"[[rule]]\nid = \"shell-requires-capability\"\nbranch = \"executive\"\nseverity = \"blocking\"\noutcome = \"deny\"\n" +
		"sanctions = [\"warn\"]\n\n[rule.when]\nactions = [\"tool.shell.*\"]\nwithout_capabilities = [\"shell\"]\n"
	if c.Canonical() != want {
		t.Fatalf("canonical text:\n%s", c.Canonical())
	}
	if c.HashHex() != "f1300aea11dedcc2ceee6b39627b30199673b98ad270dd1e7fe09c45b0db3d73" {
		t.Fatalf("hash %s", c.HashHex())
	}
}

func TestParseRule(t *testing.T) {
	good := "[[rule]]\nid = \"x\"\nbranch = \"executive\"\nseverity = \"warning\"\noutcome = \"warn\"\n"
	if _, err := ParseRule("r.toml", []byte(good)); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"two rules":   good + good,
		"no rule":     "",
		"top keys":    "name = \"n\"\n" + good,
		"bad rule":    "[[rule]]\nid = \"x\"\n",
		"syntax":      "[[rule]\n",
		"unknown key": good + "extra = 1\n",
	} {
		_, err := ParseRule("r.toml", []byte(text))
		var pe *ParseError
		if !errors.As(err, &pe) || len(pe.Problems) == 0 {
			t.Errorf("%s: got %v, want a ParseError", name, err)
		}
	}
}

func TestParseLimits(t *testing.T) {
	big := make([]byte, MaxConstitutionSize+1)
	if _, err := Parse("big.toml", big); !errors.Is(err, ErrInvalidConstitution) {
		t.Fatalf("oversized input: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultConstitutionText)
	files, _ := filepath.Glob("testdata/parse/*.toml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("[[rule]]\nid=\"a\"\nbranch=\"executive\"\nseverity=\"critical\"\noutcome=\"deny\"\n[rule.when]\nactions=[\"*\"]\ncontext={a=[\"b\"]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("error is not a non-empty ParseError: %v", err)
			}
			for _, p := range pe.Problems {
				if p.File != "fuzz.toml" || p.Message == "" || p.Level != LevelError || p.Line < 0 {
					t.Fatalf("malformed problem %+v", p)
				}
			}
			return
		}
		// A valid constitution round-trips through its canonical text and
		// compiles for every environment.
		c2, err := Parse("canonical.toml", []byte(c.Canonical()))
		if err != nil {
			t.Fatalf("canonical text does not parse: %v\n%s", err, c.Canonical())
		}
		if c2.HashHex() != c.HashHex() {
			t.Fatalf("canonical hash changed")
		}
		for _, env := range []string{EnvDev, EnvStaging, EnvProd} {
			e, err := NewEngine(c, env)
			if err != nil {
				t.Fatal(err)
			}
			_ = e.Decide(&Request{Action: "tool.shell.x", Context: Context{Host: "H"}})
		}
	})
}
