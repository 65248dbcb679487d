//go:build linux

package landlock

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// TestMain doubles as a helper process: with WEFT_LANDLOCK_HELPER set, the
// test binary (started confined) tries what the variable names and exits.
func TestMain(m *testing.M) {
	switch op := os.Getenv("WEFT_LANDLOCK_HELPER"); {
	case strings.HasPrefix(op, "read:"):
		_, err := os.ReadFile(strings.TrimPrefix(op, "read:"))
		exit(err)
	case strings.HasPrefix(op, "write:"):
		exit(os.WriteFile(strings.TrimPrefix(op, "write:"), []byte("x"), 0o600))
	case strings.HasPrefix(op, "dial:"):
		c, err := net.Dial("tcp", strings.TrimPrefix(op, "dial:"))
		if err == nil {
			c.Close()
		}
		exit(err)
	case op != "":
		exit(fmt.Errorf("unknown helper op %q", op))
	}
	goleak.VerifyTestMain(m)
}

func exit(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(0)
}

func supported(t *testing.T) int {
	t.Helper()
	v, err := Supported()
	if errors.Is(err, ErrUnsupported) {
		t.Skipf("Landlock is not available on this kernel: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// helper runs the test binary confined to ws (read-write) and its own
// directory (read+exec), asking it to do op; it returns whether op worked.
func helper(t *testing.T, ws, op string, denyNet bool) (bool, Result) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = []string{"WEFT_LANDLOCK_HELPER=" + op}
	var out strings.Builder
	cmd.Stderr = &out
	res, err := Start(cmd, Rules{ReadWrite: []string{ws}, ReadExec: []string{filepath.Dir(self), "/usr", "/lib", "/lib64", "/etc"}, DenyNetwork: denyNet})
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
		t.Fatalf("helper %s: %v %s", op, err, out.String())
	}
	return err == nil, res
}

// TestConfinesTheChildOnly: the confined child reads and writes its
// workspace, cannot read or write a secret outside it, and the parent
// (this test process) is not confined at all.
func TestConfinesTheChildOnly(t *testing.T) {
	supported(t)
	ws, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "node.key")
	if err := os.WriteFile(secret, []byte("private"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "notes.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		op   string
		want bool
	}{
		{"read:" + filepath.Join(ws, "notes.txt"), true},
		{"write:" + filepath.Join(ws, "new.txt"), true},
		{"read:" + secret, false},
		{"write:" + filepath.Join(outside, "planted"), false},
		{"read:/proc/self/environ", false},
	} {
		if got, _ := helper(t, ws, tc.op, false); got != tc.want {
			t.Errorf("%s: worked=%v, want %v", tc.op, got, tc.want)
		}
	}
	// The parent is untouched.
	if _, err := os.ReadFile(secret); err != nil {
		t.Fatalf("the parent was confined: %v", err)
	}
	if err := os.WriteFile(filepath.Join(outside, "parent"), []byte("x"), 0o600); err != nil {
		t.Fatalf("the parent was confined: %v", err)
	}
}

// TestDenyNetwork: with ABI 4 or later, a confined child cannot open TCP
// connections (here to a listener on loopback the parent reaches).
func TestDenyNetwork(t *testing.T) {
	if supported(t) < 4 {
		t.Skip("Landlock ABI < 4: no network rules on this kernel")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ws := t.TempDir()
	if ok, _ := helper(t, ws, "dial:"+ln.Addr().String(), false); !ok {
		t.Fatal("an unconfined-network child could not dial")
	}
	ok, res := helper(t, ws, "dial:"+ln.Addr().String(), true)
	if ok || !res.NetworkDenied {
		t.Fatalf("dial with the network denied: worked=%v %+v", ok, res)
	}
}

// TestMissingPathsSkipped: rules for paths that do not exist are skipped
// and reported, not errors.
func TestMissingPathsSkipped(t *testing.T) {
	supported(t)
	ws := t.TempDir()
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = []string{"WEFT_LANDLOCK_HELPER=read:" + filepath.Join(ws, "x")}
	res, err := Start(cmd, Rules{ReadWrite: []string{ws, "/no/such/dir"}, ReadExec: []string{filepath.Dir(self), "/usr", "/lib", "/lib64"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(res.Skipped) != 1 || res.Skipped[0] != "/no/such/dir" {
		t.Fatalf("skipped %v", res.Skipped)
	}
}
