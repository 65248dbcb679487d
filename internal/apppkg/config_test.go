package apppkg

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigDeclarations(t *testing.T) {
	base := "name = \"a\"\nversion = \"1.0.0\"\n[config]\n"
	m, err := ParseManifest([]byte(base + `words = 200
tone = "concise"
verbose = false
temperature = 0.25
ratio = { type = "float", default = 1 }
token = { type = "string", secret = true, description = "the notes service's token" }
empty_secret = { type = "string", secret = true, default = "" }
required = { type = "int" }
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		typ, def string
		secret   bool
	}{
		"words": {TypeInt, "200", false}, "tone": {TypeString, "concise", false}, "verbose": {TypeBool, "false", false},
		"temperature": {TypeFloat, "0.25", false}, "ratio": {TypeFloat, "1", false}, "token": {TypeString, "-", true},
		"empty_secret": {TypeString, "", true}, "required": {TypeInt, "-", false},
	}
	if len(m.Config) != len(want) {
		t.Fatalf("config %+v", m.Config)
	}
	for k, w := range want {
		v := m.Config[k]
		def := "-"
		if v.Default != nil {
			def = *v.Default
		}
		if v.Type != w.typ || def != w.def || v.Secret != w.secret {
			t.Errorf("%s = %+v (default %q), want %+v", k, v, def, w)
		}
	}
	if d := m.ConfigDefaults(); len(d) != 6 || d["words"] != "200" || d["verbose"] != "false" {
		t.Fatalf("defaults %v", d)
	}

	for _, tc := range []struct{ name, toml, want string }{
		{"secret default", `s = { type = "string", secret = true, default = "hunter2" }`, "secret's default"},
		{"no type", `s = { description = "x" }`, "type or a default"},
		{"bad type", `s = { type = "date" }`, "type \"date\""},
		{"type mismatch", `s = { type = "int", default = "x" }`, "a string, but the type is int"},
		{"unknown field", `s = { type = "int", required = true }`, "unknown key \"required\""},
		{"array", `s = [1, 2]`, "want a string, integer"},
		{"nan", `s = nan`, "finite"},
		{"bad secret", `s = { type = "int", secret = "yes" }`, "secret"},
		{"long", `s = "` + strings.Repeat("x", MaxConfigValue+1) + `"`, "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(base + tc.toml + "\n"))
			if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCronReferences(t *testing.T) {
	base := "name = \"a\"\nversion = \"1.0.0\"\nagents = [\"a.yaml\"]\n[[services]]\nagent = \"a\"\n[[cron]]\nschedule = \"@every 1h\"\nagent = \"a\"\n"
	cfg := "[config]\nwords = 10\ntoken = { type = \"string\", secret = true }\n"
	if _, err := ParseManifest([]byte(base + "message = \"at most ${config.words} words, $${config.literal}\"\n" + cfg)); err != nil {
		t.Fatal(err)
	}
	for msg, want := range map[string]string{
		"${config.nope}":  "no such setting",
		"${config.token}": "only to agents' system prompts",
		"${config.words":  "no closing",
		"${config.A B}":   "not a config key",
	} {
		_, err := ParseManifest([]byte(base + "message = \"" + msg + "\"\n" + cfg))
		if !errors.Is(err, ErrManifest) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", msg, err, want)
		}
	}
}

func TestParseValue(t *testing.T) {
	for _, tc := range []struct{ typ, in, out, err string }{
		{TypeString, " as is ", " as is ", ""},
		{TypeInt, "150", "150", ""},
		{TypeInt, " -7 ", "-7", ""},
		{TypeInt, "1.5", "", "want an int"},
		{TypeInt, "99999999999999999999", "", "want an int"},
		{TypeBool, "TRUE", "true", ""},
		{TypeBool, "no", "false", ""},
		{TypeBool, "maybe", "", "want a bool"},
		{TypeFloat, "0.50", "0.5", ""},
		{TypeFloat, "1e3", "1000", ""},
		{TypeFloat, "Inf", "", "want a float"},
		{TypeFloat, "abc", "", "want a float"},
		{TypeString, "a\x00b", "", "NUL"},
		{TypeString, "\xff", "", "UTF-8"},
		{"date", "x", "", "unknown type"},
	} {
		out, err := ParseValue(tc.typ, tc.in)
		switch {
		case tc.err == "" && (err != nil || out != tc.out):
			t.Errorf("ParseValue(%s, %q) = %q, %v; want %q", tc.typ, tc.in, out, err, tc.out)
		case tc.err != "" && (!errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseValue(%s, %q): err %v, want %q", tc.typ, tc.in, err, tc.err)
		case tc.err != "" && tc.in != "" && strings.Contains(err.Error(), tc.in):
			t.Errorf("ParseValue(%s, %q): the error quotes the value: %v", tc.typ, tc.in, err)
		}
	}
}

func TestExpand(t *testing.T) {
	vals := map[string]string{"words": "150", "who": "Ada"}
	get := func(k string) (string, error) {
		v, ok := vals[k]
		if !ok {
			return "", errors.New("unset " + k)
		}
		return v, nil
	}
	for in, want := range map[string]string{
		"no references":       "no references",
		"keep ${HOME} and $x": "keep ${HOME} and $x",
		"${config.words} words for ${config.who}, ${config.words}": "150 words for Ada, 150",
		"literal $${config.words}":                                 "literal ${config.words}",
		"${config.who}${config.who}":                               "AdaAda",
	} {
		got, err := Expand(in, get)
		if err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := Expand("${config.nope}", get); err == nil || !strings.Contains(err.Error(), "unset nope") {
		t.Fatalf("unset: %v", err)
	}
	keys, err := References("${config.b} ${config.a} ${config.b} $${config.c}")
	if err != nil || strings.Join(keys, ",") != "a,b" {
		t.Fatalf("References = %v, %v", keys, err)
	}
}

// FuzzExpand: expansion never panics; a text without references is
// returned unchanged; every key References reports is valid, and
// expanding with the references' own names yields no "${config." that
// was not escaped.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"", "${config.a}", "$${config.a}", "${config.", "${config.a", "x${config.a_b.c-d}y", "$$${config.a}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		keys, rerr := References(text)
		out, err := Expand(text, func(k string) (string, error) { return "<" + k + ">", nil })
		if (rerr == nil) != (err == nil) {
			t.Fatalf("References %v but Expand %v", rerr, err)
		}
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v is not ErrConfig", err)
			}
			return
		}
		if !strings.Contains(text, refOpen) && out != text {
			t.Fatalf("changed a text without references: %q → %q", text, out)
		}
		for _, k := range keys {
			if !keyRE.MatchString(k) || !strings.Contains(out, "<"+k+">") {
				t.Fatalf("key %q of %q: out %q", k, text, out)
			}
		}
	})
}

// FuzzParseValue: a value that parses is canonical (parsing it again
// gives it back).
func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"1", "-0", "true", "0.1", "1e400", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, typ := range []string{TypeString, TypeInt, TypeBool, TypeFloat} {
			v, err := ParseValue(typ, text)
			if err != nil {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("%s %q: %v", typ, text, err)
				}
				continue
			}
			if again, err := ParseValue(typ, v); err != nil || again != v {
				t.Fatalf("%s %q → %q → %q, %v", typ, text, v, again, err)
			}
		}
	})
}
