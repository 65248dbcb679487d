package daemon

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestHomeMadePrivate: a home left open to other users (0777, 0755) is
// tightened to owner-only before anything is written into it.
func TestHomeMadePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permission bits")
	}
	for _, mode := range []os.FileMode{0o777, 0o755, 0o750} {
		home := filepath.Join(t.TempDir(), "home")
		if err := os.Mkdir(home, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(home, mode); err != nil {
			t.Fatal(err)
		}
		d := open(t, home)
		closeD(t, d)
		fi, err := os.Stat(home)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("home created %04o is %04o after boot, want 0700", mode, got)
		}
	}
	if _, err := secureHome(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing home passed")
	}
}
