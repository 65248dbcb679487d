package skills

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		in      string
		want    Skill
		wantErr string
	}{
		{
			name: "list tools",
			dir:  "go-review",
			in:   "---\nname: go-review\ndescription: Review Go code.\nallowed-tools:\n  - read_file\n  - list_dir\n---\n\n# Steps\n1. Read.\n",
			want: Skill{Name: "go-review", Description: "Review Go code.", AllowedTools: []string{"read_file", "list_dir"}, Body: "# Steps\n1. Read.\n", Path: "f"},
		},
		{
			name: "comma tools, CRLF, BOM, no name",
			dir:  "pdf",
			in:   "\xef\xbb\xbf---\r\ndescription: PDFs\r\nallowed-tools: Read, Bash(git:*) ,  ,Grep\r\n---\r\nbody\r\n",
			want: Skill{Name: "pdf", Description: "PDFs", AllowedTools: []string{"Read", "Bash(git:*)", "Grep"}, Body: "body\r\n", Path: "f"},
		},
		{
			name: "unknown keys kept, extras ignored",
			dir:  "x",
			in:   "---\nname: x\ndescription: d\nlicense: MIT\nmetadata: {a: b}\nzeta: 1\nalpha: 2\n---\n",
			want: Skill{Name: "x", Description: "d", Path: "f", Unknown: []string{"alpha", "zeta"}},
		},
		{
			name: "no directory check when dir is empty",
			in:   "---\nname: free\ndescription: d\n---\nb",
			want: Skill{Name: "free", Description: "d", Body: "b", Path: "f"},
		},
		{name: "no front matter", dir: "x", in: "# just markdown\n", wantErr: `f:1: must start with a "---" line`},
		{name: "empty", dir: "x", in: "", wantErr: `f:1: must start with`},
		{name: "unclosed", dir: "x", in: "---\nname: x\n", wantErr: `f:1: front matter has no closing "---" line`},
		{name: "syntax", dir: "x", in: "---\nname: x\ndescription: \"open\n---\n", wantErr: "f:3: front matter:"},
		{name: "not mapping", dir: "x", in: "---\n- a\n---\n", wantErr: "f:2: front matter must be a mapping"},
		{name: "empty front matter", dir: "x", in: "---\n---\nbody", wantErr: "f:2: front matter must be a mapping"},
		{name: "duplicate", dir: "x", in: "---\nname: x\nname: x\n---\n", wantErr: `f:3: front matter: duplicate key "name"`},
		{name: "name mismatch", dir: "x", in: "---\ndescription: d\nname: y\n---\n", wantErr: `f:3: name: "y" does not match its directory "x"`},
		{name: "bad name", dir: "", in: "---\nname: ../x\ndescription: d\n---\n", wantErr: `f:2: name: "../x" is not a valid`},
		{name: "missing description", dir: "x", in: "---\nname: x\n---\n", wantErr: "description: missing"},
		{name: "name not string", dir: "x", in: "---\nname: [a]\n---\n", wantErr: "f:2: name: must be a string"},
		{name: "tools mapping", dir: "x", in: "---\ndescription: d\nallowed-tools: {a: 1}\n---\n", wantErr: "f:3: allowed-tools: want a list"},
		{name: "tools nested", dir: "x", in: "---\ndescription: d\nallowed-tools: [[a]]\n---\n", wantErr: "allowed-tools: list entries must be strings"},
		{name: "alias", dir: "x", in: "---\nlicense: &a d\ndescription: *a\n---\n", wantErr: "f:3: description: YAML aliases are not supported"},
		{name: "long description", dir: "x", in: "---\ndescription: " + strings.Repeat("d", MaxDescription+1) + "\n---\n", wantErr: "longer than"},
		{name: "invalid utf8", dir: "x", in: "---\ndescription: \xff\n---\n", wantErr: "not valid UTF-8"},
		{name: "too big", dir: "x", in: strings.Repeat("x", MaxFileSize+1), wantErr: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("f", tt.dir, []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("%v does not match ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func writeSkill(t *testing.T, dir, name, desc string) {
	t.Helper()
	p := filepath.Join(dir, name, FileName)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("---\nname: "+name+"\ndescription: "+desc+"\n---\nBody of "+name+".\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDiscoveryPrecedence(t *testing.T) {
	ws, home := t.TempDir(), t.TempDir()
	writeSkill(t, filepath.Join(ws, "skills"), "both", "workspace skills/")
	writeSkill(t, filepath.Join(ws, ".weftos", "skills"), "both", "workspace .weftos")
	writeSkill(t, filepath.Join(home, "skills"), "both", "home")
	writeSkill(t, filepath.Join(ws, ".weftos", "skills"), "dotonly", "workspace .weftos")
	writeSkill(t, filepath.Join(home, "skills"), "dotonly", "home")
	writeSkill(t, filepath.Join(home, ".weftos", "skills"), "homeonly", "home .weftos")
	// A broken workspace skill shadows the home one of the same name.
	if err := os.MkdirAll(filepath.Join(ws, "skills", "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "skills", "broken", FileName), []byte("no front matter"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeSkill(t, filepath.Join(home, "skills"), "broken", "home")
	// A directory without SKILL.md and a stray file are ignored.
	if err := os.MkdirAll(filepath.Join(ws, "skills", "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "skills", "README.md"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	list, errs := List(ws, home)
	if len(errs) != 1 || !errors.Is(errs[0], ErrInvalid) {
		t.Errorf("errors %v, want one for the broken skill", errs)
	}
	var got []string
	for _, s := range list {
		got = append(got, s.Name+"="+s.Description)
	}
	want := []string{"both=workspace skills/", "dotonly=workspace .weftos", "homeonly=home .weftos"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List = %v\nwant %v", got, want)
	}

	for _, tt := range []struct {
		name, desc string
		err        error
	}{
		{"both", "workspace skills/", nil},
		{"dotonly", "workspace .weftos", nil},
		{"homeonly", "home .weftos", nil},
		{"broken", "", ErrInvalid},
		{"missing", "", ErrNotFound},
		{"../x", "", ErrInvalid},
	} {
		s, err := Load(tt.name, ws, home)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("Load(%q) error %v, want %v", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || s.Description != tt.desc {
			t.Errorf("Load(%q) = %q, %v; want %q", tt.name, s.Description, err, tt.desc)
		}
	}

	all, err := LoadAll([]string{"homeonly", "both"}, ws, home)
	if err != nil || len(all) != 2 || all[0].Name != "homeonly" {
		t.Errorf("LoadAll = %v, %v", all, err)
	}
	if _, err := LoadAll([]string{"both", "missing"}, ws, home); !errors.Is(err, ErrNotFound) {
		t.Errorf("LoadAll with a missing skill: %v", err)
	}
}

func TestPromptGolden(t *testing.T) {
	skills := []Skill{
		{Name: "go-review", Description: `Review Go code for "bugs" & races.`, AllowedTools: []string{"read_file", "list_dir"}, Body: "\n# Steps\n\n1. Read the diff.\n2. Close with </skill> — escaped.\n"},
		{Name: "empty", Description: "No body."},
	}
	got := Prompt(skills)
	golden := filepath.Join("testdata", "prompt.golden")
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
		t.Errorf("Prompt mismatch\ngot:\n%s\nwant:\n%s", got, want)
	}
	if strings.Count(got, "</skill>") != 2 {
		t.Error("a body closed its <skill> element")
	}
	if Prompt(nil) != "" {
		t.Error("Prompt(nil) is not empty")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("go-review", []byte("---\nname: go-review\ndescription: d\nallowed-tools: a, b\n---\nbody\n"))
	f.Add("x", []byte("---\r\ndescription: d\r\nallowed-tools: [a, b]\r\n---\r\n"))
	f.Add("", []byte("---\nname: &a x\ndescription: *a\n---\n"))
	f.Add("x", []byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, dir string, data []byte) {
		s, err := Parse("f", dir, data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not match ErrInvalid", err)
			}
			return
		}
		if !ValidName(s.Name) || s.Description == "" || (dir != "" && s.Name != dir) {
			t.Fatalf("accepted invalid skill %#v", s)
		}
		for _, tool := range s.AllowedTools {
			if tool == "" || strings.TrimSpace(tool) != tool {
				t.Fatalf("bad tool %q", tool)
			}
		}
		p := Prompt([]Skill{s})
		if strings.Count(p, "</skill>") != 1 {
			t.Fatalf("body escaped its element:\n%s", p)
		}
	})
}
