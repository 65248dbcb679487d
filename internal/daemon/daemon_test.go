package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/layers"
)

func TestMain(m *testing.M) {
	if latency, ok := os.LookupEnv(fakeLLMEnv); ok {
		os.Exit(serveFakeLLM(latency))
	}
	goleak.VerifyTestMain(m)
}

func open(t testing.TB, home string) *Daemon {
	t.Helper()
	d, err := Open(context.Background(), Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// openClient opens a daemon on home and a client of its local API, both
// closed when the test ends (the client first).
func openClient(t *testing.T, home string) (*Daemon, *client.Client) {
	t.Helper()
	d := open(t, home)
	t.Cleanup(func() { closeD(t, d) })
	c, err := client.New(home)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return d, c
}

func closeD(t testing.TB, d *Daemon) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenServeClose(t *testing.T) {
	home := filepath.Join(t.TempDir(), "h")
	d := open(t, home)
	if _, err := Open(context.Background(), Options{Home: home}); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second daemon: %v", err)
	}
	c, err := client.New(home)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil || st.NodeID == "" || st.Processes != 1 {
		t.Fatalf("status %+v %v", st, err)
	}
	pid, err := c.Spawn(ctx, apitype.SpawnRequest{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Inspect(ctx, 999); !errors.Is(err, kernel.ErrUnknownPID) {
		t.Fatalf("inspect unknown: %v", err)
	}
	// A capability above the kernel's default grant is still within root's,
	// but a bad scope is refused by the API.
	if err := c.Control(ctx, pid, "explode"); err == nil {
		t.Fatal("unknown action accepted")
	}
	if _, err := c.Send(ctx, apitype.SendRequest{Target: kernel.ToRemote("n2", kernel.ToProcess(1)), Payload: kernel.Text("x")}); !errors.Is(err, kernel.ErrMeshNotEnabled) {
		t.Fatalf("remote: %v", err)
	}
	m, err := c.Metrics(ctx)
	if err != nil || !strings.Contains(m, `weftos_processes{state="running"} 2`) {
		t.Fatalf("metrics: %v\n%s", err, m)
	}
	if _, err := c.CronAdd(ctx, apitype.CronRequest{Schedule: "@every 1h", Target: kernel.ToProcess(pid), Payload: kernel.Text("t")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CronAdd(ctx, apitype.CronRequest{Schedule: "@every 1h", Target: kernel.ToTopic("ticks"), Payload: kernel.Text("t")}); err != nil {
		t.Fatal(err)
	}
	closeD(t, d)
	if _, err := c.Status(ctx); !errors.Is(err, client.ErrNoDaemon) {
		t.Fatalf("status after close: %v", err)
	}
	// A restart restores kernel-sent cron jobs — but not one aimed at a
	// process, which cannot survive it — and does not reuse PIDs.
	d = open(t, home)
	defer closeD(t, d)
	if jobs := d.Kernel().CronJobs(); len(jobs) != 1 || jobs[0].Target.Kind != kernel.TargetTopic {
		t.Fatalf("cron jobs after restart: %+v", jobs)
	}
	pid2, err := c.Spawn(ctx, apitype.SpawnRequest{Name: "m2"})
	if err != nil || pid2 <= pid {
		t.Fatalf("pid after restart %d (before %d): %v", pid2, pid, err)
	}
}

func TestCorruptFiles(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, PIDSeqName), []byte("banana"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), Options{Home: home, Logger: slog.New(slog.DiscardHandler)}); err == nil || !strings.Contains(err.Error(), PIDSeqName) {
		t.Fatalf("corrupt pid.next: %v", err)
	}
	// The failed boot released the lock.
	os.Remove(filepath.Join(home, PIDSeqName))
	closeD(t, open(t, home))
}

// BenchmarkBoot measures Open (home already initialised: config, keys) to
// the API answering, then Close.
func BenchmarkBoot(b *testing.B) {
	home := b.TempDir()
	closeD(b, open(b, home))
	c, err := client.New(home)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.ResetTimer()
	for range b.N {
		d := open(b, home)
		if _, err := c.Status(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		closeD(b, d)
		c.Close()
		b.StartTimer()
	}
}

func TestInvalidConstitution(t *testing.T) {
	bad := []byte("format = 1\n[[rule]]\nid = \"x\"\ncolour = \"red\"\n")
	prod := []byte("[governance]\nenvironment = \"prod\"\n")
	// prod with nothing adopted yet: refuses to boot.
	home := t.TempDir()
	for name, data := range map[string][]byte{ConstitutionName: bad, "weftos.toml": prod} {
		if err := os.WriteFile(filepath.Join(home, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Open(context.Background(), Options{Home: home, Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, ErrInvalidConstitution) || !strings.Contains(err.Error(), "constitution.toml") {
		t.Fatalf("prod boot on an invalid constitution: %v", err)
	}
	// dev: adopts the default constitution, and says so.
	home = t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ConstitutionName), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	d := open(t, home)
	if d.gov.invalidReason() == "" || !strings.Contains(d.gov.invalidReason(), "colour") {
		t.Fatalf("invalid constitution not reported: %q", d.gov.invalidReason())
	}
	if h := d.Kernel().Health(); h.Status != kernel.Degraded {
		t.Fatalf("health with an invalid constitution: %+v", h)
	}
	adopted := d.gov.engine.Constitution().HashHex()
	closeD(t, d)
	// prod once something is adopted: runs on it, degraded, never on the
	// invalid file.
	if err := os.WriteFile(filepath.Join(home, "weftos.toml"), prod, 0o600); err != nil {
		t.Fatal(err)
	}
	d = open(t, home)
	defer closeD(t, d)
	if got := d.gov.engine.Constitution().HashHex(); got != adopted || d.gov.invalidReason() == "" {
		t.Fatalf("in force %s (adopted %s), invalid %q", got, adopted, d.gov.invalidReason())
	}
	if st := d.Status(); st.Health.Status != kernel.Degraded || len(st.Problems) == 0 {
		t.Fatalf("status %+v", st)
	}
}

// The control UI is off unless [ui] listen is set: no listener, and a
// login link is refused with ui_disabled.
func TestUIOffByDefault(t *testing.T) {
	home := t.TempDir()
	d := open(t, home)
	defer closeD(t, d)
	if d.UIAddr() != "" {
		t.Fatalf("the UI listens on %s by default", d.UIAddr())
	}
	c, err := client.New(home)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := apitype.ErrUIDisabled
	if !layers.Built(layers.UI) {
		want = apitype.ErrLayerNotBuilt
	}
	if _, err := c.UILogin(context.Background()); !errors.Is(err, want) {
		t.Fatalf("weave ui with the UI off: %v", err)
	}
}
