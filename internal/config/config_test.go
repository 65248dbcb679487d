package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultFileMatchesDefaults(t *testing.T) {
	cfg, err := Parse("default.toml", Default())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, Defaults()) {
		t.Fatalf("default.toml decodes to\n%+v\nDefaults() is\n%+v", cfg, Defaults())
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{"unknown key", "[kernel]\nmax_processes = 5\nmax_procs = 3\n", "w.toml:3: kernel.max_procs: unknown key"},
		{"unknown table", "\n[kernal]\nx = 1\n", "w.toml:2: kernal: unknown key"},
		{"wrong type", "[kernel]\n\ninbox_capacity = \"big\"\n", "w.toml:3: kernel.inbox_capacity:"},
		{"bad duration", "[kernel]\nstop_grace = \"soon\"\n", "w.toml:2: kernel.stop_grace:"},
		{"bad level", "[log]\nlevel = \"loud\"\n", `w.toml: log.level: "loud" is not one of`},
		{"range", "[kernel]\nmax_processes = 0\n", "w.toml: kernel.max_processes: 0 is outside"},
		{"env", "[governance]\nenvironment = \"test\"\n", "governance.environment"},
		{"syntax", "[kernel\n", "w.toml:1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("w.toml", []byte(c.text))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%v does not match ErrInvalid", err)
			}
		})
	}
}

func TestParseValues(t *testing.T) {
	cfg, err := Parse("w.toml", []byte("[kernel]\nstop_grace = \"250ms\"\n[governance]\nenvironment = \"prod\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kernel.StopGrace.Duration != 250*time.Millisecond || cfg.Governance.Environment != "prod" || cfg.Kernel.MaxProcesses != 4096 {
		t.Fatalf("cfg = %+v", cfg)
	}
}

func TestLoadWritesDefault(t *testing.T) {
	dir := t.TempDir()
	cfg, path, err := Load(dir)
	if err != nil || !reflect.DeepEqual(cfg, Defaults()) || path != filepath.Join(dir, FileName) {
		t.Fatalf("Load = %+v, %s, %v", cfg, path, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("default file: %v %v", st.Mode(), err)
	}
	if err := os.WriteFile(path, []byte("[log]\nformat = \"xml\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(dir); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Default())
	f.Add([]byte("[kernel]\nmax_processes = 5\n"))
	f.Add([]byte("[[x]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.toml", data)
		if err == nil {
			if verr := cfg.Validate("f.toml"); verr != nil {
				t.Fatalf("Parse accepted a config Validate rejects: %v", verr)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("error %v does not match ErrInvalid", err)
		}
	})
}
