package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/identity"
	"github.com/weftos/weftos/internal/layers"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func one(t *testing.T, c Check) apitype.DoctorCheck {
	t.Helper()
	out := Run(context.Background(), c)
	if len(out) != 1 {
		t.Fatalf("%d lines: %+v", len(out), out)
	}
	if out[0].Message == "" || (out[0].Status != apitype.DoctorOK && out[0].Status != apitype.DoctorSkip && out[0].Fix == "") {
		t.Fatalf("no message or fix: %+v", out[0])
	}
	return out[0]
}

func TestHome(t *testing.T) {
	if !permsApply {
		t.Skip("no Unix modes here")
	}
	cases := []struct {
		name string
		mode os.FileMode // 0: missing; 1: a file
		want string
	}{
		{"missing", 0, apitype.DoctorWarn},
		{"a file", 1, apitype.DoctorFail},
		{"private", 0o700, apitype.DoctorOK},
		{"group readable", 0o750, apitype.DoctorWarn},
		{"group writable", 0o770, apitype.DoctorFail},
		{"world writable", 0o777, apitype.DoctorFail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			home := filepath.Join(t.TempDir(), "home")
			switch c.mode {
			case 0:
			case 1:
				if err := os.WriteFile(home, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			default:
				if err := os.Mkdir(home, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(home, c.mode); err != nil {
					t.Fatal(err)
				}
			}
			if got := one(t, Home(home)); got.Status != c.want {
				t.Fatalf("%+v, want %s", got, c.want)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	cases := []struct {
		name        string
		setup       func(t *testing.T, home string)
		chainEvents bool
		want        string
	}{
		{"not created, fresh node", func(*testing.T, string) {}, false, apitype.DoctorWarn},
		{"lost, chain has events", func(*testing.T, string) {}, true, apitype.DoctorFail},
		{"present", create, true, apitype.DoctorOK},
		{"readable by others", func(t *testing.T, home string) {
			create(t, home)
			chmod(t, filepath.Join(home, identity.Dir, identity.Ed25519File), 0o644)
		}, true, apitype.DoctorFail},
		{"corrupt", func(t *testing.T, home string) {
			create(t, home)
			if err := os.WriteFile(filepath.Join(home, identity.Dir, identity.MLDSA65File), []byte("zz\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, true, apitype.DoctorFail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !permsApply && c.name == "readable by others" {
				t.Skip("no Unix modes here")
			}
			home := t.TempDir()
			c.setup(t, home)
			got := one(t, Keys(home, c.chainEvents))
			if got.Status != c.want {
				t.Fatalf("%+v, want %s", got, c.want)
			}
			if strings.Contains(got.Message, "zz") {
				t.Fatal("key file content printed")
			}
		})
	}
}

func create(t *testing.T, home string) {
	t.Helper()
	if _, err := identity.LoadOrCreate(home); err != nil {
		t.Fatal(err)
	}
}

func chmod(t *testing.T, p string, m os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, m); err != nil {
		t.Fatal(err)
	}
}

func TestDiskVerdict(t *testing.T) {
	cases := []struct {
		free, total uint64
		want        string
	}{
		{50 << 20, 100 << 30, apitype.DoctorFail},
		{500 << 20, 100 << 30, apitype.DoctorWarn},
		{4 << 30, 100 << 30, apitype.DoctorWarn}, // under 5 %
		{20 << 30, 100 << 30, apitype.DoctorOK},
	}
	for _, c := range cases {
		if got := diskVerdict("/h", c.free, c.total); got[0].Status != c.want {
			t.Errorf("free %d of %d: %+v, want %s", c.free, c.total, got[0], c.want)
		}
	}
	got := one(t, Disk(t.TempDir()))
	if got.Status == apitype.DoctorSkip && diskSupported() {
		t.Fatalf("disk check skipped: %+v", got)
	}
}

func diskSupported() bool {
	_, _, err := diskSpace(".")
	return !errors.Is(err, errDiskUnsupported)
}

func TestConstitution(t *testing.T) {
	cases := []struct {
		name string
		s    ConstitutionState
		want string
	}{
		{"fresh", ConstitutionState{Missing: true}, apitype.DoctorOK},
		{"not yet adopted", ConstitutionState{FileHash: "aa"}, apitype.DoctorOK},
		{"not yet adopted, invalid", ConstitutionState{FileErr: errors.New("line 3: bad")}, apitype.DoctorFail},
		{"in force", ConstitutionState{FileHash: "aa", Adopted: "aa", Revision: 2}, apitype.DoctorOK},
		{"missing file", ConstitutionState{Missing: true, Adopted: "aa"}, apitype.DoctorWarn},
		{"invalid file", ConstitutionState{FileErr: errors.New("bad"), Adopted: "aa"}, apitype.DoctorWarn},
		{"pending", ConstitutionState{FileHash: "bb", Adopted: "aa", PendingID: "a-17", Live: true}, apitype.DoctorWarn},
		{"lapsed", ConstitutionState{FileHash: "bb", Adopted: "aa", Live: true}, apitype.DoctorWarn},
		{"offline edit", ConstitutionState{FileHash: "bb", Adopted: "aa"}, apitype.DoctorWarn},
	}
	for _, c := range cases {
		c.s.File = "constitution.toml"
		got := one(t, Constitution(func(context.Context) (ConstitutionState, error) { return c.s, nil }))
		if got.Status != c.want {
			t.Errorf("%s: %+v, want %s", c.name, got, c.want)
		}
		if c.s.PendingID != "" && !strings.Contains(got.Fix, "weave gov approve "+c.s.PendingID) {
			t.Errorf("%s: fix %q does not say how to approve", c.name, got.Fix)
		}
	}
	if got := one(t, Constitution(func(context.Context) (ConstitutionState, error) { return ConstitutionState{}, errors.New("x") })); got.Status != apitype.DoctorWarn {
		t.Errorf("unreadable state: %+v", got)
	}
}

func TestChainCheck(t *testing.T) {
	cases := []struct {
		name   string
		rep    *chain.Report
		err    error
		want   string
		substr string
	}{
		{"no chain", nil, fmt.Errorf("x: %w", fs.ErrNotExist), apitype.DoctorOK, "no chain yet"},
		{"unreadable", nil, errors.New("permission denied"), apitype.DoctorFail, "permission denied"},
		{"damaged", &chain.Report{Events: 3, Problem: &chain.Problem{Kind: chain.ProblemKeys, Detail: "pinned keys differ"}}, nil, apitype.DoctorFail, "pinned keys differ"},
		{"sound", &chain.Report{Events: 7, Checkpoints: 2, Uncovered: 1}, nil, apitype.DoctorOK, "verified 7 events and 2 checkpoints"},
	}
	for _, c := range cases {
		got := one(t, Chain(func(context.Context) (*chain.Report, error) { return c.rep, c.err }))
		if got.Status != c.want || !strings.Contains(got.Message, c.substr) {
			t.Errorf("%s: %+v", c.name, got)
		}
	}
}

func TestRunKeepsOrder(t *testing.T) {
	var cs []Check
	for i := range 20 {
		cs = append(cs, func(context.Context) []apitype.DoctorCheck { return ok(fmt.Sprint(i), "m api_key=secret%d", i) })
	}
	out := Run(context.Background(), cs...)
	for i, c := range out {
		if c.Name != fmt.Sprint(i) || strings.Contains(c.Message, "secret") {
			t.Fatalf("line %d: %+v", i, c)
		}
	}
}

// TestOffline: on a home with keys and a chain, the offline checks pass;
// once a segment is damaged, or the keys no longer match the chain, the
// chain check fails.
func TestOffline(t *testing.T) {
	home := t.TempDir()
	chmod(t, home, 0o700)
	id, err := identity.LoadOrCreate(home)
	if err != nil {
		t.Fatal(err)
	}
	l := LayoutOf(home)
	log, err := chain.Open(context.Background(), l.ChainDir, chain.Options{Origin: id.NodeID, Keys: chain.Keys{Ed25519: id.Ed25519, MLDSA65: id.MLDSA65}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := log.Append(context.Background(), "test", "test.event", map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg, err := ReadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	status := func() map[string]apitype.DoctorCheck {
		m := map[string]apitype.DoctorCheck{}
		for _, c := range Run(context.Background(), Offline(l, cfg, nil)...) {
			m[c.Name] = c
		}
		return m
	}
	got := status()
	providers := "warn" // none configured: agents cannot run
	if !layers.Built(layers.LLM) {
		providers = "ok" // none needed
	}
	for name, want := range map[string]string{"daemon": "warn", "config": "ok", "keys": "ok", "chain": "ok", "constitution": "ok", "providers": providers, "log": "ok"} {
		if got[name].Status != want {
			t.Errorf("%s: %+v, want %s", name, got[name], want)
		}
	}
	if permsApply && got["home"].Status != apitype.DoctorOK {
		t.Errorf("home: %+v", got["home"])
	}
	// Another node's keys: the chain is not this node's.
	if err := os.RemoveAll(filepath.Join(home, identity.Dir)); err != nil {
		t.Fatal(err)
	}
	create(t, home)
	if c := status()["chain"]; c.Status != apitype.DoctorFail || !strings.Contains(c.Message, "pinned") {
		t.Errorf("foreign keys: %+v", c)
	}
	if err := os.WriteFile(filepath.Join(home, "weftos.toml"), []byte("[log]\nlevel = \"loud\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c := status()["config"]; c.Status != apitype.DoctorFail || !strings.Contains(c.Message, "log.level") {
		t.Errorf("bad config: %+v", c)
	}
}
