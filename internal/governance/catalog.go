package governance

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// CatalogEntry gives the base effect of actions (or tools) matching Pattern,
// a glob with the syntax of rule conditions.
type CatalogEntry struct {
	Pattern string `json:"pattern"`
	Effect  Effect `json:"effect"`
}

type catalogItem struct {
	g      glob
	effect Effect
}

// Catalog maps actions and tool names to their base effect vectors. The most
// specific entry wins: an exact pattern first, then the glob with the longest
// literal prefix (ties: the longer pattern, then the earlier entry). It is
// immutable once built.
type Catalog struct {
	actions []CatalogEntry
	tools   []CatalogEntry
	unknown Effect

	actionExact map[string]Effect
	actionGlobs []catalogItem
	toolExact   map[string]Effect
	toolGlobs   []catalogItem
}

// NewCatalog builds a catalog. unknown is the effect of an action no entry
// matches.
func NewCatalog(actions, tools []CatalogEntry, unknown Effect) (*Catalog, error) {
	if err := unknown.Validate(); err != nil {
		return nil, fmt.Errorf("governance: catalog unknown effect: %w", err)
	}
	c := &Catalog{actions: slices.Clone(actions), tools: slices.Clone(tools), unknown: unknown}
	var err error
	if c.actionExact, c.actionGlobs, err = compileCatalog(actions); err != nil {
		return nil, fmt.Errorf("governance: catalog actions: %w", err)
	}
	if c.toolExact, c.toolGlobs, err = compileCatalog(tools); err != nil {
		return nil, fmt.Errorf("governance: catalog tools: %w", err)
	}
	return c, nil
}

func compileCatalog(entries []CatalogEntry) (map[string]Effect, []catalogItem, error) {
	exact := map[string]Effect{}
	var globs []catalogItem
	for _, e := range entries {
		if err := e.Effect.Validate(); err != nil {
			return nil, nil, fmt.Errorf("%q: %w", e.Pattern, err)
		}
		g, err := compileGlob(e.Pattern)
		if err != nil {
			return nil, nil, err
		}
		if g.kind == globExact {
			if _, dup := exact[e.Pattern]; !dup {
				exact[e.Pattern] = e.Effect
			}
			continue
		}
		globs = append(globs, catalogItem{g: g, effect: e.Effect})
	}
	slices.SortStableFunc(globs, func(a, b catalogItem) int {
		la, _ := literalPrefix(a.g.pat)
		lb, _ := literalPrefix(b.g.pat)
		if len(la) != len(lb) {
			return len(lb) - len(la)
		}
		return len(b.g.pat) - len(a.g.pat)
	})
	return exact, globs, nil
}

func lookupCatalog(exact map[string]Effect, globs []catalogItem, s string) (Effect, bool) {
	if e, ok := exact[s]; ok {
		return e, true
	}
	for i := range globs {
		if globs[i].g.match(s) {
			return globs[i].effect, true
		}
	}
	return Effect{}, false
}

// ActionEffect returns the base effect of action (the unknown effect when no
// entry matches).
func (c *Catalog) ActionEffect(action string) Effect {
	if e, ok := lookupCatalog(c.actionExact, c.actionGlobs, action); ok {
		return e
	}
	return c.unknown
}

// ToolEffect returns the base effect of a tool, if the catalog knows it.
func (c *Catalog) ToolEffect(tool string) (Effect, bool) {
	if tool == "" {
		return Effect{}, false
	}
	return lookupCatalog(c.toolExact, c.toolGlobs, tool)
}

// Entries returns copies of the action and tool entries and the unknown
// effect, for display (`weave gov catalog`).
func (c *Catalog) Entries() (actions, tools []CatalogEntry, unknown Effect) {
	return slices.Clone(c.actions), slices.Clone(c.tools), c.unknown
}

// DefaultActionEffects is the default action catalog.
var DefaultActionEffects = []CatalogEntry{
	{"tool.shell.*", Effect{Risk: 0.7, Privacy: 0.3, Security: 0.6}},
	{"tool.exec.*", Effect{Risk: 0.3, Privacy: 0.2, Security: 0.3}},
	{"tool.read.*", Effect{Risk: 0.1, Privacy: 0.2}},
	{"mcp.call", Effect{Risk: 0.3, Privacy: 0.3, Security: 0.3}},
	{"tool.install", Effect{Risk: 0.5, Security: 0.6, Novelty: 0.3}},
	{"app.install", Effect{Risk: 0.5, Security: 0.6, Novelty: 0.3}},
	{"app.remove", Effect{Risk: 0.3, Security: 0.2}},
	{"app.configure", Effect{Risk: 0.2, Privacy: 0.1, Security: 0.2}},
	{"app.trust", Effect{Risk: 0.4, Security: 0.6, Novelty: 0.2}},
	{"app.distrust", Effect{Risk: 0.1, Security: 0.1}},
	{"fs.read", Effect{Risk: 0.05, Privacy: 0.2}},
	{"fs.write", Effect{Risk: 0.3, Privacy: 0.2, Security: 0.2}},
	{"fs.delete", Effect{Risk: 0.5, Privacy: 0.2, Security: 0.3}},
	{"net.egress", Effect{Risk: 0.2, Privacy: 0.3, Security: 0.3}},
	{"agent.spawn", Effect{Risk: 0.3, Fairness: 0.1, Security: 0.2}},
	{"ipc.send", Effect{Risk: 0.05}},
	{"capability.elevate", Effect{Risk: 0.6, Security: 0.8}},
	{"llm.call", Effect{Risk: 0.1, Fairness: 0.2, Privacy: 0.3}},
	{"constitution.*", Effect{Risk: 0.5, Fairness: 0.4, Security: 0.5}},
	{"memory.store", Effect{Risk: 0.1, Privacy: 0.2}},
	{"memory.search", Effect{Privacy: 0.2}},
	{"memory.ingest", Effect{Risk: 0.2, Privacy: 0.3}},
	{"memory.delete", Effect{Risk: 0.3, Privacy: 0.1}},
	{"memory.reembed", Effect{Risk: 0.1, Privacy: 0.2}},
	{"ecc.link", Effect{Risk: 0.05}},
	{"plan.*", Effect{Risk: 0.1}},
	{"ecc.analyze", Effect{Risk: 0.2, Privacy: 0.3}},
	{"process.stop", Effect{Risk: 0.2, Fairness: 0.1}},
	{"process.kill", Effect{Risk: 0.4, Fairness: 0.1}},
	{"process.suspend", Effect{Risk: 0.2, Fairness: 0.1}},
	{"process.resume", Effect{Risk: 0.1}},
	{"cron.add", Effect{Risk: 0.2, Fairness: 0.1}},
	{"cron.remove", Effect{Risk: 0.1}},
	{"service.register", Effect{Risk: 0.2, Security: 0.2}},
	{"service.unregister", Effect{Risk: 0.2}},
	{"tool.remove", Effect{Risk: 0.3, Security: 0.2}},
	{"session.remove", Effect{Risk: 0.3, Privacy: 0.2}},
	{"agent.definition", Effect{Risk: 0.5, Security: 0.6, Novelty: 0.3}},
	{"cluster.*", Effect{Risk: 0.3, Security: 0.4}},
	{"channel.message", Effect{Risk: 0.1, Privacy: 0.2}},
	{"gateway.token.*", Effect{Risk: 0.3, Security: 0.4}},
	{"channel.pairing.*", Effect{Risk: 0.2, Security: 0.3}},
}

// DefaultToolEffects is the default tool catalog, applied (component-wise
// maximum) on top of the action's effect when Context.Tool names a tool.
var DefaultToolEffects = []CatalogEntry{
	{"bash", Effect{Risk: 0.7, Privacy: 0.3, Security: 0.6}},
	{"sh", Effect{Risk: 0.7, Privacy: 0.3, Security: 0.6}},
	{"curl", Effect{Risk: 0.3, Privacy: 0.4, Security: 0.5}},
	{"git", Effect{Risk: 0.2, Privacy: 0.2, Security: 0.2}},
	{"python*", Effect{Risk: 0.5, Privacy: 0.2, Security: 0.4}},
}

// DefaultUnknownEffect is the effect of an action the catalog does not know:
// moderately risky, so unknown actions stand out in strict environments.
var DefaultUnknownEffect = Effect{Risk: 0.5, Security: 0.5}

// DefaultCatalog returns the default catalog.
func DefaultCatalog() *Catalog {
	c, err := NewCatalog(DefaultActionEffects, DefaultToolEffects, DefaultUnknownEffect)
	if err != nil { // the tables above are constant and valid
		return &Catalog{unknown: DefaultUnknownEffect}
	}
	return c
}

// Raises are the increments the gate adds when the context makes an action
// more consequential (results are clamped to 1).
type Raises struct {
	// OutsideWorkspace applies when Context.Path lies outside every
	// workspace root.
	OutsideWorkspace Effect
	// UnknownHost applies when Context.Host matches no allowed-host glob.
	UnknownHost Effect
	// Novel applies when the agent has never been permitted this action.
	Novel Effect
}

// DefaultRaises: a path outside the workspace raises privacy and security by
// 0.3, an unknown host raises security by 0.4, a novel action raises novelty
// by 0.4.
var DefaultRaises = Raises{
	OutsideWorkspace: Effect{Privacy: 0.3, Security: 0.3},
	UnknownHost:      Effect{Security: 0.4},
	Novel:            Effect{Novelty: 0.4},
}

// NoveltyTracker remembers which actions each agent has been permitted. It
// is safe for concurrent use and bounded: once it holds Max pairs, new pairs
// are no longer remembered (and so keep counting as novel, the conservative
// reading).
type NoveltyTracker struct {
	mu   sync.RWMutex
	seen map[string]map[string]struct{}
	n    int
	max  int
}

// DefaultNoveltyMax bounds a NoveltyTracker created with max <= 0.
const DefaultNoveltyMax = 1 << 20

// NewNoveltyTracker returns an empty tracker holding at most max pairs.
func NewNoveltyTracker(max int) *NoveltyTracker {
	if max <= 0 {
		max = DefaultNoveltyMax
	}
	return &NoveltyTracker{seen: map[string]map[string]struct{}{}, max: max}
}

// Seen reports whether agent has been observed doing action.
func (t *NoveltyTracker) Seen(agent, action string) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	_, ok := t.seen[agent][action]
	return ok
}

// Observe records that agent did action.
func (t *NoveltyTracker) Observe(agent, action string) {
	if t.Seen(agent, action) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n >= t.max {
		return
	}
	m := t.seen[agent]
	if m == nil {
		m = map[string]struct{}{}
		t.seen[agent] = m
	}
	if _, ok := m[action]; !ok {
		m[action] = struct{}{}
		t.n++
	}
}

// Len returns the number of remembered pairs.
func (t *NoveltyTracker) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.n
}

// GateConfig configures a Gate.
type GateConfig struct {
	Catalog *Catalog // nil: DefaultCatalog()
	// Workspace lists the workspace roots (absolute paths). Relative paths in
	// requests are resolved against the first root. With no roots, every
	// path counts as outside the workspace.
	Workspace []string
	// AllowedHosts are globs of hosts that do not raise security.
	AllowedHosts []string
	Raises       *Raises         // nil: DefaultRaises
	Novelty      *NoveltyTracker // nil: a new tracker
}

// Gate combines the effect catalog, context raises and the Engine: it is
// what the kernel calls before every privileged operation.
type Gate struct {
	engine    *Engine
	catalog   *Catalog
	workspace []string
	hosts     globList
	raises    Raises
	novelty   *NoveltyTracker
}

// NewGate builds a gate over engine.
func NewGate(engine *Engine, cfg GateConfig) (*Gate, error) {
	if engine == nil {
		return nil, fmt.Errorf("governance: NewGate: nil engine")
	}
	g := &Gate{engine: engine, catalog: cfg.Catalog, raises: DefaultRaises, novelty: cfg.Novelty}
	if g.catalog == nil {
		g.catalog = DefaultCatalog()
	}
	if cfg.Raises != nil {
		for _, e := range []Effect{cfg.Raises.OutsideWorkspace, cfg.Raises.UnknownHost, cfg.Raises.Novel} {
			if err := e.Validate(); err != nil {
				return nil, fmt.Errorf("governance: raises: %w", err)
			}
		}
		g.raises = *cfg.Raises
	}
	if g.novelty == nil {
		g.novelty = NewNoveltyTracker(0)
	}
	for _, w := range cfg.Workspace {
		if !filepath.IsAbs(w) {
			return nil, fmt.Errorf("governance: workspace root %q is not absolute", w)
		}
		g.workspace = append(g.workspace, filepath.Clean(w))
	}
	hosts := make([]string, len(cfg.AllowedHosts))
	for i, h := range cfg.AllowedHosts {
		hosts[i] = strings.ToLower(h)
	}
	var err error
	if g.hosts, err = compileGlobList(hosts); err != nil {
		return nil, fmt.Errorf("governance: allowed hosts: %w", err)
	}
	return g, nil
}

// Engine returns the gate's engine (for amendments and environment changes).
func (g *Gate) Engine() *Engine { return g.engine }

// Novelty returns the gate's novelty tracker.
func (g *Gate) Novelty() *NoveltyTracker { return g.novelty }

// Assess computes the effect vector of req: the component-wise maximum of
// the catalog's action effect, the catalog's tool effect (if Context.Tool is
// known) and req.Effect (what the caller declares), plus the raises for a
// path outside the workspace, a host outside the allow list and an action
// the agent was never permitted before; normalised into [0,1].
func (g *Gate) Assess(req *Request) Effect {
	e := g.catalog.ActionEffect(req.Action).Max(req.Effect.Normalize())
	if t, ok := g.catalog.ToolEffect(req.Context.Tool); ok {
		e = e.Max(t)
	}
	var raise Effect
	if req.Context.Path != "" && !g.InWorkspace(req.Context.Path) {
		raise = raise.Add(g.raises.OutsideWorkspace)
	}
	if req.Context.Host != "" && !g.hosts.match(strings.ToLower(req.Context.Host)) {
		raise = raise.Add(g.raises.UnknownHost)
	}
	if !g.novelty.Seen(req.Agent, req.Action) {
		raise = raise.Add(g.raises.Novel)
	}
	return e.Add(raise)
}

// InWorkspace reports whether path lies inside a workspace root.
func (g *Gate) InWorkspace(path string) bool {
	if len(g.workspace) == 0 {
		return false
	}
	p := path
	if !filepath.IsAbs(p) {
		p = filepath.Join(g.workspace[0], p)
	}
	p = filepath.Clean(p)
	for _, root := range g.workspace {
		if p == root || strings.HasPrefix(p, root+string(filepath.Separator)) || root == string(filepath.Separator) {
			return true
		}
	}
	return false
}

// Check assesses req's effect and decides it. When the outcome allows the
// action, the agent+action pair is remembered so it is not novel next time.
// A cancelled ctx yields Deny. req is not modified; the returned Decision
// carries the assessed effect.
func (g *Gate) Check(ctx context.Context, req *Request) Decision {
	if err := ctx.Err(); err != nil {
		return Decision{Outcome: Deny, Reason: "governance: " + err.Error(), Env: g.engine.Env()}
	}
	if req == nil {
		return g.engine.Decide(nil)
	}
	r := *req
	r.Effect = g.Assess(req)
	d := g.engine.Decide(&r)
	if d.Outcome.Allowed() {
		g.novelty.Observe(req.Agent, req.Action)
	}
	return d
}

// Preview assesses and decides req like Check but without side effects (the
// novelty tracker is not updated), optionally for another environment (env
// "" means the engine's). It backs `weave gov check`, the dry run.
func (g *Gate) Preview(req *Request, env string) (Decision, error) {
	if req == nil {
		return g.engine.Decide(nil), nil
	}
	r := *req
	r.Effect = g.Assess(req)
	snap := g.engine.snap.Load()
	if env != "" && env != snap.env {
		var err error
		if snap, err = compile(snap.c, env); err != nil {
			return Decision{}, err
		}
	}
	return snap.decide(&r), nil
}
