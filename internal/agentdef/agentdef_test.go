package agentdef

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParseErrorsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, perr := Parse(filepath.Base(file), data)
			if perr == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if !errors.Is(perr, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", perr)
			}
			var e *Error
			if !errors.As(perr, &e) {
				t.Errorf("error %v is not an *Error", perr)
			}
			got := perr.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("error mismatch\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestParseGood(t *testing.T) {
	d, err := Load("testdata/good/reviewer.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Definition{
		Name:         "reviewer",
		Description:  "Reviews diffs and points out bugs.",
		Model:        "anthropic/claude-sonnet-4-5",
		SystemPrompt: "You are a careful code reviewer.\nPoint out bugs, not style.\n",
		Tools:        []string{"read_file", "list_dir"},
		Skills:       []string{"go-review"},
		MaxTurns:     40,
		Capabilities: Capabilities{
			CanExecTools: true,
			CanIPC:       true,
			IPCScope:     "topic(reviews, alerts)",
			ToolsAllow:   []string{"read_*", "list_dir"},
			ToolsDeny:    []string{"write_file"},
			Limits:       Limits{ToolCalls: 200, Messages: 1000, Tokens: 500000, CPUTime: 2 * time.Minute, MemoryMiB: 256},
		},
		Source: "testdata/good/reviewer.yaml",
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("got  %+v\nwant %+v", d, want)
	}
}

func TestParseServicesAndSupervision(t *testing.T) {
	d, err := Load("testdata/good/worker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wantServices := []Service{{Name: "reviews", Methods: []string{"review", "status"}}, {Name: "lint"}}
	if !reflect.DeepEqual(d.Services, wantServices) {
		t.Errorf("services %+v, want %+v", d.Services, wantServices)
	}
	want := &Supervision{Restart: RestartPermanent, Supervisor: "reviewers", Strategy: OneForAll, MaxRestarts: 3, Window: 30 * time.Second}
	if !reflect.DeepEqual(d.Supervision, want) {
		t.Errorf("supervision %+v, want %+v", d.Supervision, want)
	}
	// No restart key: not supervised.
	if d, err := Load("testdata/good/minimal.yaml"); err != nil || d.Supervision != nil || d.Services != nil {
		t.Errorf("minimal: %+v, %v", d, err)
	}
}

func TestParseDefaults(t *testing.T) {
	d, err := Load("testdata/good/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// An unset max_turns stays 0: the daemon then uses agents.max_turns.
	if d.Name != "minimal" || d.MaxTurns != 0 {
		t.Errorf("name %q max_turns %d, want minimal and 0 (unset)", d.Name, d.MaxTurns)
	}
	if !reflect.DeepEqual(d.Capabilities, DefaultCapabilities()) {
		t.Errorf("capabilities %+v, want the defaults", d.Capabilities)
	}
}

func TestParseTable(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring; "" = success
		check   func(t *testing.T, d Definition)
	}{
		{"empty capabilities block denies all", "name: a\ncapabilities: {}\n", "", func(t *testing.T, d Definition) {
			if !reflect.DeepEqual(d.Capabilities, Capabilities{}) {
				t.Errorf("got %+v, want zero capabilities", d.Capabilities)
			}
		}},
		{"null capabilities", "name: a\ncapabilities:\n", "", func(t *testing.T, d Definition) {
			if d.Capabilities.CanExecTools {
				t.Error("null capabilities kept defaults")
			}
		}},
		{"mcp servers", "name: a\nmcp_servers:\n  - name: files\n    command: /opt/mcp/files\n    args: [--root, .]\n    env: [LANG]\n  - name: web\n    url: https://mcp.example.com/mcp\n", "", func(t *testing.T, d Definition) {
			want := []MCPServer{{Name: "files", Command: "/opt/mcp/files", Args: []string{"--root", "."}, Env: []string{"LANG"}}, {Name: "web", URL: "https://mcp.example.com/mcp"}}
			if !reflect.DeepEqual(d.MCPServers, want) {
				t.Errorf("got %+v, want %+v", d.MCPServers, want)
			}
		}},
		{"max turns bounds low", "name: a\nmax_turns: 1\n", "", nil},
		{"max turns bounds high", "name: a\nmax_turns: 1000\n", "", nil},
		{"max turns too high", "name: a\nmax_turns: 1001\n", "a.yaml:2: max_turns: 1001 is out of range 1..1000", nil},
		{"max turns float", "name: a\nmax_turns: 1.5\n", "a.yaml:2: max_turns: want a whole number", nil},
		{"bool as string", "name: a\ncapabilities:\n  can_spawn: \"true\"\n", "a.yaml:3: capabilities.can_spawn: want true or false", nil},
		{"scope restricted", "name: a\ncapabilities: {ipc_scope: \"restricted(1, 2)\"}\n", "", nil},
		{"scope restricted bad pid", "name: a\ncapabilities: {ipc_scope: \"restricted(x)\"}\n", "ipc_scope", nil},
		{"scope empty topic", "name: a\ncapabilities: {ipc_scope: \"topic()\"}\n", "ipc_scope", nil},
		{"negative duration", "name: a\ncapabilities: {limits: {cpu_time: -1s}}\n", "cpu_time", nil},
		{"model with space", "name: a\nmodel: \"gpt 4\"\n", "a.yaml:2: model", nil},
		{"model trailing slash", "name: a\nmodel: openai/\n", "model", nil},
		{"shell with exec", "name: a\ncapabilities: {can_exec_tools: true, shell: true}\n", "", nil},
		{"invalid utf8", "name: a\ndescription: \"\xff\"\n", "not valid UTF-8", nil},
		{"non-string key", "name: a\n? [x]\n: 1\n", "keys must be plain strings", nil},
		{"mapping as string", "name: {x: 1}\n", "a.yaml:1: name: must be a string", nil},
		{"long description", "name: a\ndescription: " + strings.Repeat("x", MaxDescription+1) + "\n", "description: longer than", nil},
		{"too big", strings.Repeat("#", MaxFileSize+1), "more than", nil},
		{"restart alone", "name: a\nrestart: transient\n", "", func(t *testing.T, d Definition) {
			if d.Supervision == nil || *d.Supervision != (Supervision{Restart: RestartTransient}) {
				t.Errorf("supervision %+v", d.Supervision)
			}
		}},
		{"restart temporary with a supervisor", "name: a\nrestart: temporary\nsupervisor: {name: pool}\n", "", nil},
		{"restart null", "name: a\nrestart:\n", "a.yaml:2: restart: want permanent, transient or temporary", nil},
		{"restart as list", "name: a\nrestart: [permanent]\n", "a.yaml:2: restart: must be a string", nil},
		{"supervisor as string", "name: a\nrestart: permanent\nsupervisor: pool\n", "a.yaml:3: supervisor: must be a mapping", nil},
		{"supervisor null", "name: a\nrestart: permanent\nsupervisor:\n", "", nil},
		{"window too long", "name: a\nrestart: permanent\nsupervisor: {window: 25h}\n", "supervisor.window", nil},
		{"max restarts float", "name: a\nrestart: permanent\nsupervisor: {max_restarts: 1.5}\n", "supervisor.max_restarts: want a whole number", nil},
		{"services not a list", "name: a\nservices: reviews\n", "a.yaml:2: services: must be a list", nil},
		{"service methods not a list", "name: a\nservices: [{name: s, methods: run}]\n", "services[0].methods: must be a list of strings", nil},
		{"service names", "name: a\nservices: [s-1, S_2, {name: s3, methods: [get, _put, list-all]}]\n", "", func(t *testing.T, d Definition) {
			if len(d.Services) != 3 || d.Services[2].Methods[2] != "list-all" {
				t.Errorf("services %+v", d.Services)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Parse("a.yaml", []byte(tt.yaml))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if tt.check != nil {
					tt.check(t, d)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
		})
	}
}

func TestValidName(t *testing.T) {
	for s, want := range map[string]bool{
		"reviewer": true, "a": true, "A.b-c_d9": true, strings.Repeat("a", 64): true,
		"": false, ".hidden": false, "a..b": false, "a/b": false, `a\b`: false, "-x": false,
		strings.Repeat("a", 65): false, "a b": false, "é": false,
	} {
		if got := ValidName(s); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindPrecedence(t *testing.T) {
	ws, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(ws, "agents", "both.yaml"), "description: from workspace\n")
	writeFile(t, filepath.Join(home, "agents", "both.yaml"), "description: from home\n")
	writeFile(t, filepath.Join(home, "agents", "homeonly.yml"), "description: from home\n")
	writeFile(t, filepath.Join(ws, "agents", "broken.yaml"), "max_turns: x\n")
	writeFile(t, filepath.Join(home, "agents", "broken.yaml"), "description: shadowed\n")

	tests := []struct {
		name, wantDesc string
		wantErr        error
	}{
		{"both", "from workspace", nil},
		{"homeonly", "from home", nil},
		{"broken", "", ErrInvalid},
		{"missing", "", ErrNotFound},
		{"../escape", "", ErrInvalid},
		{DefaultName, Default().Description, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Find(tt.name, ws, "", home)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Description != tt.wantDesc {
				t.Errorf("description %q, want %q", d.Description, tt.wantDesc)
			}
		})
	}

	defs, errs := List(ws, home)
	if len(errs) != 1 || !errors.Is(errs[0], ErrInvalid) {
		t.Errorf("List errors %v, want the broken file only", errs)
	}
	var names []string
	for _, d := range defs {
		names = append(names, d.Name+"="+d.Description)
	}
	want := []string{"both=from workspace", "homeonly=from home"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("List = %v, want %v", names, want)
	}
}

func TestDefaultIsValid(t *testing.T) {
	d := Default()
	if !ValidName(d.Name) || d.MaxTurns != 0 || d.SystemPrompt == "" || !d.Capabilities.CanExecTools || !d.Capabilities.CanNetwork {
		t.Errorf("bad default: %+v", d)
	}
	// Default returns fresh slices each time.
	d.Capabilities.ToolsDeny[0] = "changed"
	if Default().Capabilities.ToolsDeny[0] == "changed" {
		t.Error("Default shares slices between calls")
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a: &a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("f.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if !ValidName(d.Name) || d.MaxTurns < 0 || d.MaxTurns > MaxMaxTurns {
			t.Fatalf("Parse accepted an invalid definition: %+v", d)
		}
	})
}
