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
		{"gc range", "[kernel]\ngc_percent = 10\n", "w.toml: kernel.gc_percent: 10 is outside"},
		{"memory limit range", "[kernel]\nmemory_limit_mib = -1\n", "w.toml: kernel.memory_limit_mib: -1 is outside"},
		{"env", "[governance]\nenvironment = \"test\"\n", "governance.environment"},
		{"syntax", "[kernel\n", "w.toml:1"},
		{"provider transport", "[[providers]]\nname = \"o\"\nkind = \"openai\"\ntransport = \"curl\"\n", `w.toml: providers[0].transport: "curl" is not auto or net/http`},
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

func TestGatewayConfig(t *testing.T) {
	cases := []struct{ name, text, want string }{
		{"public without tls", "[gateway]\nlisten = \"0.0.0.0:8787\"\n", "needs tls_cert and tls_key"},
		{"bad listen", "[gateway]\nlisten = \"8787\"\n", "is not host:port"},
		{"half tls", "[gateway]\ntls_cert = \"c.pem\"\n", "go together"},
		{"hook without secret", "[[gateway.hooks]]\nname = \"ci\"\nagent = \"a\"\n", "HMAC secret"},
		{"bad channel kind", "[[channels]]\nname = \"x\"\nkind = \"irc\"\ntoken_env = \"T\"\n", "is not one of"},
		{"channel without token", "[[channels]]\nname = \"x\"\nkind = \"telegram\"\n", "bot token"},
		{"telegram webhook without secret", "[gateway]\nlisten = \"127.0.0.1:1\"\n[[channels]]\nname = \"x\"\nkind = \"telegram\"\ntoken_env = \"T\"\nwebhook_url = \"https://x/\"\n", "secret token"},
		{"slack without transport", "[[channels]]\nname = \"x\"\nkind = \"slack\"\ntoken_env = \"T\"\n", "app-level token"},
		{"route to nowhere", "[[routes]]\nchannel = \"nope\"\nagent = \"a\"\n", "names no configured channel"},
		{"route peer and group", "[[channels]]\nname = \"x\"\nkind = \"telegram\"\ntoken_env = \"T\"\n[[routes]]\nchannel = \"x\"\npeer = \"1\"\ngroup = \"2\"\nagent = \"a\"\n", "not both"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("w.toml", []byte(c.text))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
	ok := "[gateway]\nlisten = \"127.0.0.1:0\"\n[[channels]]\nname = \"tg\"\nkind = \"telegram\"\ntoken_env = \"T\"\n[[routes]]\nchannel = \"tg\"\npeer = \"1\"\nagent = \"a\"\n"
	if _, err := Parse("w.toml", []byte(ok)); err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, "0.0.0.0:1": false, "10.0.0.1:1": false, "x": false} {
		if LoopbackAddr(addr) != want {
			t.Errorf("LoopbackAddr(%q) != %v", addr, want)
		}
	}
}

// The control UI is off by default and listens on loopback only.
func TestUIConfig(t *testing.T) {
	c, err := Parse("w.toml", []byte(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.UI.Listen != "" {
		t.Fatalf("the UI is on by default: listen %q", c.UI.Listen)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"public", "[ui]\nlisten = \"0.0.0.0:8788\"\n", "not a loopback address"},
		{"lan", "[ui]\nlisten = \"192.168.1.2:8788\"\n", "not a loopback address"},
		{"bad listen", "[ui]\nlisten = \"8788\"\n", "is not host:port"},
		{"long login", "[ui]\nlogin_ttl = \"2h\"\n", "outside 1s..1h"},
		{"short session", "[ui]\nsession_ttl = \"1s\"\n", "outside 1m..168h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("w.toml", []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := Parse("w.toml", []byte("[ui]\nlisten = \"127.0.0.1:0\"\n")); err != nil {
		t.Fatal(err)
	}
}
