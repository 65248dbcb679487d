package apikey

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := func(string) string { return " from-env " }
	none := func(string) string { return "" }
	cases := []struct {
		name   string
		getenv func(string) string
		file   string
		want   string
		bad    bool
	}{
		{"env wins", env, write("a", "from-file", 0o600), "from-env", false},
		{"file", none, write("b", "from-file\n", 0o600), "from-file", false},
		{"read-only file", none, write("c", "k", 0o400), "k", false},
		{"group readable", none, write("d", "k", 0o640), "", true},
		{"empty", none, write("e", "  \n", 0o600), "", true},
		{"two lines", none, write("f", "a\nb", 0o600), "", true},
		{"missing", none, filepath.Join(dir, "nope"), "", true},
		{"directory", none, dir, "", true},
		{"nothing configured", none, "", "", false},
	}
	for _, c := range cases {
		got, err := Load(c.getenv, "KEY", c.file)
		if c.bad != errors.Is(err, ErrKeyFile) || got != c.want {
			t.Errorf("%s: %q, %v", c.name, got, err)
		}
	}
}
