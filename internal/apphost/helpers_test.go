package apphost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/toolpkg"
)

// ledger is an in-memory authority.Ledger keeping every record; the
// record at index i has seq i+1, as on a chain whose genesis is seq 0.
type ledger struct {
	mu      sync.Mutex
	kinds   []string
	records []string // JSON payloads
}

func (l *ledger) Append(ctx context.Context, recs ...authority.Record) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		b, err := json.Marshal(r.Payload)
		if err != nil {
			return 0, err
		}
		l.kinds, l.records = append(l.kinds, r.Kind), append(l.records, string(b))
	}
	return uint64(len(l.kinds)), nil // seq 0 is the chain's genesis
}

// count returns how many records of kind name action (in their payload;
// any action when "").
func (l *ledger) count(kind, action string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for i, k := range l.kinds {
		if k == kind && (action == "" || strings.Contains(l.records[i], `"action":"`+action+`"`)) {
			n++
		}
	}
	return n
}

// agents reads definitions from the workspace and the home, as the agent
// host does, completing them with the app host's settings.
type agents struct {
	home string
	h    *Host
}

func (a *agents) Caps(def agentdef.Definition) (kernel.Capabilities, error) {
	c := def.Capabilities
	return kernel.Capabilities{CanSpawn: c.CanSpawn, CanIPC: c.CanIPC, CanExecTools: c.CanExecTools, CanNetwork: c.CanNetwork,
		Sandbox: kernel.SandboxPolicy{Shell: c.Shell, Network: c.CanNetwork}}, nil
}

func (a *agents) FindAgent(name, workspace string) (agentdef.Definition, error) {
	def, err := agentdef.Find(name, workspace, a.home)
	if err != nil {
		return def, err
	}
	return a.h.WithConfig(def)
}

// tools is an in-memory tool host: a tool is installed from its
// tool.toml, failing where installFails says.
type tools struct {
	mu           sync.Mutex
	byName       map[string]apitype.InstalledTool
	installFails func(path string) error // nil: every install succeeds
}

func (t *tools) Install(_ context.Context, path string) (apitype.InstalledTool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.installFails != nil {
		if err := t.installFails(path); err != nil {
			return apitype.InstalledTool{}, err
		}
	}
	b, err := os.ReadFile(filepath.Join(path, toolpkg.ManifestFile))
	if err != nil {
		return apitype.InstalledTool{}, err
	}
	m, err := toolpkg.ParseManifest(toolpkg.ManifestFile, b)
	if err != nil {
		return apitype.InstalledTool{}, err
	}
	if _, ok := t.byName[m.Name]; ok {
		return apitype.InstalledTool{}, toolpkg.ErrToolExists
	}
	it := apitype.InstalledTool{Name: m.Name}
	t.byName[m.Name] = it
	return it, nil
}

func (t *tools) Record(name string) (apitype.InstalledTool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	it, ok := t.byName[name]
	if !ok {
		return it, fmt.Errorf("%w: %q", toolpkg.ErrUnknownTool, name)
	}
	return it, nil
}

func (t *tools) Remove(_ context.Context, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.byName[name]; !ok {
		return fmt.Errorf("%w: %q", toolpkg.ErrUnknownTool, name)
	}
	delete(t.byName, name)
	return nil
}

func (t *tools) names() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for n := range t.byName {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// services records the services started under each supervisor.
type services struct {
	mu      sync.Mutex
	running map[string][]agentdef.Definition // supervisor → definitions
	stops   int
}

func (s *services) StartService(_ context.Context, def agentdef.Definition, workspace string) error {
	if def.Supervision == nil || def.Supervision.Supervisor == "" {
		return errors.New("a service without a supervisor")
	}
	if _, err := os.Stat(workspace); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running[def.Supervision.Supervisor] = append(s.running[def.Supervision.Supervisor], def)
	return nil
}

func (s *services) StopSupervisor(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.running[name]; ok {
		s.stops++
	}
	delete(s.running, name)
	return nil
}

func (s *services) under(supervisor string) []agentdef.Definition {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.running[supervisor])
}

// cron is an in-memory cron table.
type cron struct {
	mu   sync.Mutex
	n    int
	jobs map[string]apitype.CronRequest
}

func (c *cron) AddCron(_ context.Context, req apitype.CronRequest) (kernel.CronJob, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	id := fmt.Sprintf("job%d", c.n)
	c.jobs[id] = req
	return kernel.CronJob{ID: id, Name: req.Name, Schedule: req.Schedule, Target: req.Target, Payload: req.Payload}, nil
}

func (c *cron) RemoveCron(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.jobs[id]; !ok {
		return fmt.Errorf("%w: %s", kernel.ErrUnknownJob, id)
	}
	delete(c.jobs, id)
	return nil
}

func (c *cron) list() []apitype.CronRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []apitype.CronRequest
	for _, j := range c.jobs {
		out = append(out, j)
	}
	return out
}

// fixture is an app host on a temporary home, its acts decided by the
// default constitution in env and recorded in an in-memory ledger.
type fixture struct {
	h        *Host
	home     string
	ledger   *ledger
	tools    *tools
	services *services
	cron     *cron
}

func newFixture(t *testing.T, env string) *fixture {
	t.Helper()
	c, err := governance.DefaultConstitution()
	if err != nil {
		t.Fatal(err)
	}
	eng, err := governance.NewEngine(c, env)
	if err != nil {
		t.Fatal(err)
	}
	gate, err := governance.NewGate(eng, governance.GateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	pending := governance.NewPending(governance.PendingConfig{})
	t.Cleanup(func() { _ = pending.Close(context.Background()) })
	f := &fixture{home: t.TempDir(), ledger: &ledger{}, tools: &tools{byName: map[string]apitype.InstalledTool{}},
		services: &services{running: map[string][]agentdef.Definition{}}, cron: &cron{jobs: map[string]apitype.CronRequest{}}}
	var n atomic.Uint64
	p, err := authority.New(authority.Options{Ledger: f.ledger, Gate: gate, Approvals: pending, DeferTimeout: time.Minute,
		NewActionID: func() string { return fmt.Sprintf("a%d", n.Add(1)) }})
	if err != nil {
		t.Fatal(err)
	}
	ag := &agents{home: f.home}
	f.h = New(Options{Home: f.home, Auth: p, Agents: ag, Tools: f.tools, Services: f.services, Cron: f.cron,
		Clock: clock.Real{}})
	ag.h = f.h
	return f
}
