package governance

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestCatalogLookup(t *testing.T) {
	c, err := NewCatalog([]CatalogEntry{
		{"tool.*", Effect{Risk: 0.1}},
		{"tool.shell.*", Effect{Risk: 0.7}},
		{"tool.shell.bash", Effect{Risk: 0.9}},
		{"*.write", Effect{Privacy: 0.5}},
	}, []CatalogEntry{{"curl", Effect{Security: 0.5}}}, Effect{Risk: 0.4})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		action string
		want   Effect
	}{
		{"tool.shell.bash", Effect{Risk: 0.9}},
		{"tool.shell.zsh", Effect{Risk: 0.7}},
		{"tool.read", Effect{Risk: 0.1}},
		{"fs.write", Effect{Privacy: 0.5}},
		{"x", Effect{Risk: 0.4}},
	} {
		if got := c.ActionEffect(tc.action); got != tc.want {
			t.Errorf("%s: %+v want %+v", tc.action, got, tc.want)
		}
	}
	if e, ok := c.ToolEffect("curl"); !ok || e.Security != 0.5 {
		t.Fatal("tool lookup")
	}
	if _, ok := c.ToolEffect(""); ok {
		t.Fatal("empty tool found")
	}
	if _, err := NewCatalog([]CatalogEntry{{"a", Effect{Risk: 2}}}, nil, Effect{}); err == nil {
		t.Fatal("invalid effect accepted")
	}
	if _, err := NewCatalog([]CatalogEntry{{"", Effect{}}}, nil, Effect{}); err == nil {
		t.Fatal("empty pattern accepted")
	}
	a, tl, u := DefaultCatalog().Entries()
	if len(a) == 0 || len(tl) == 0 || u != DefaultUnknownEffect {
		t.Fatal("default catalog empty")
	}
}

func newTestGate(t *testing.T, env string) *Gate {
	t.Helper()
	g, err := NewGate(mustEngine(t, mustDefault(t), env), GateConfig{
		Workspace:    []string{"/work/ws"},
		AllowedHosts: []string{"*.weftos.dev", "localhost"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestAssessRaises(t *testing.T) {
	g := newTestGate(t, "dev")
	g.Novelty().Observe("a", "fs.write")
	g.Novelty().Observe("a", "net.egress")
	base := DefaultCatalog().ActionEffect("fs.write")
	tests := []struct {
		name string
		req  Request
		want Effect
	}{
		{"inside workspace", Request{Agent: "a", Action: "fs.write", Context: Context{Path: "/work/ws/a/b.txt"}}, base},
		{"relative inside", Request{Agent: "a", Action: "fs.write", Context: Context{Path: "a/b.txt"}}, base},
		{"relative escaping", Request{Agent: "a", Action: "fs.write", Context: Context{Path: "../../etc/passwd"}}, base.Add(DefaultRaises.OutsideWorkspace)},
		{"outside workspace", Request{Agent: "a", Action: "fs.write", Context: Context{Path: "/etc/passwd"}}, base.Add(DefaultRaises.OutsideWorkspace)},
		{"prefix trick", Request{Agent: "a", Action: "fs.write", Context: Context{Path: "/work/ws2/x"}}, base.Add(DefaultRaises.OutsideWorkspace)},
		{"allowed host", Request{Agent: "a", Action: "net.egress", Context: Context{Host: "API.weftos.dev"}}, DefaultCatalog().ActionEffect("net.egress")},
		{"unknown host", Request{Agent: "a", Action: "net.egress", Context: Context{Host: "evil.example"}}, DefaultCatalog().ActionEffect("net.egress").Add(DefaultRaises.UnknownHost)},
		{"novel action", Request{Agent: "b", Action: "fs.write"}, base.Add(DefaultRaises.Novel)},
		{"declared effect wins when higher", Request{Agent: "a", Action: "fs.write", Effect: Effect{Risk: 0.9}}, base.Max(Effect{Risk: 0.9})},
		{"tool effect", Request{Agent: "a", Action: "fs.write", Context: Context{Tool: "bash"}}, base.Max(Effect{Risk: 0.7, Privacy: 0.3, Security: 0.6})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := g.Assess(&tc.req); got != tc.want {
				t.Fatalf("got %+v want %+v", got, tc.want)
			}
		})
	}
}

func TestGateCheck(t *testing.T) {
	g := newTestGate(t, "dev")
	ctx := context.Background()
	caps := []string{"can_network"}
	// Unknown host: security 0.3+0.4 = 0.7 → egress-high-security denies.
	d := g.Check(ctx, &Request{Agent: "a", Action: "net.egress", Capabilities: caps, Context: Context{Host: "evil.example"}})
	if d.Outcome != Deny || !slices.Contains(d.RuleIDs, "egress-high-security") {
		t.Fatalf("unknown host: %+v", d)
	}
	// Allowed host, first time: novelty warns, then it is remembered.
	req := Request{Agent: "a", Action: "net.egress", Capabilities: caps, Context: Context{Host: "api.weftos.dev"}}
	if d := g.Check(ctx, &req); d.Outcome != PermitWithWarning || !slices.Contains(d.RuleIDs, "novel-action") {
		t.Fatalf("first egress: %+v", d)
	}
	if d := g.Check(ctx, &req); d.Outcome != Permit {
		t.Fatalf("second egress: %+v", d)
	}
	if req.Effect != (Effect{}) {
		t.Fatal("Check modified the request")
	}
	// A denied action stays novel.
	g.Check(ctx, &Request{Agent: "z", Action: "agent.spawn"})
	if g.Novelty().Seen("z", "agent.spawn") {
		t.Fatal("denied action remembered")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if d := g.Check(cctx, &req); d.Outcome != Deny {
		t.Fatalf("cancelled ctx: %+v", d)
	}
	if _, err := NewGate(nil, GateConfig{}); err == nil {
		t.Fatal("nil engine accepted")
	}
	if _, err := NewGate(g.Engine(), GateConfig{Workspace: []string{"rel"}}); err == nil {
		t.Fatal("relative workspace accepted")
	}
	if _, err := NewGate(g.Engine(), GateConfig{Raises: &Raises{Novel: Effect{Risk: 3}}}); err == nil {
		t.Fatal("invalid raise accepted")
	}
	// With no workspace, every path is outside.
	g2, err := NewGate(g.Engine(), GateConfig{})
	if err != nil || g2.InWorkspace("/anything") {
		t.Fatal("empty workspace")
	}
}

func TestNoveltyTrackerConcurrent(t *testing.T) {
	tr := NewNoveltyTracker(100)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				tr.Observe(fmt.Sprintf("agent%d", w), fmt.Sprintf("act%d", i))
				_ = tr.Seen("agent0", "act0")
			}
		}()
	}
	wg.Wait()
	if tr.Len() != 100 {
		t.Fatalf("len %d, want the bound 100", tr.Len())
	}
	tr.Observe("new", "x")
	if tr.Seen("new", "x") {
		t.Fatal("full tracker remembered a new pair")
	}
}

func TestGatePreview(t *testing.T) {
	g := newTestGate(t, "dev")
	req := Request{Agent: "a", Action: "capability.elevate", Capabilities: []string{"x"}}
	d, err := g.Preview(&req, "")
	if err != nil || d.Env != "dev" || d.Outcome != PermitWithWarning {
		t.Fatalf("dev preview: %+v %v", d, err)
	}
	if g.Novelty().Seen("a", "capability.elevate") {
		t.Fatal("preview updated the novelty tracker")
	}
	d, err = g.Preview(&req, "prod")
	if err != nil || d.Env != "prod" || d.Outcome != Defer || !slices.Contains(d.RuleIDs, "elevation-needs-approval-in-prod") {
		t.Fatalf("prod preview: %+v %v", d, err)
	}
	if g.Engine().Env() != "dev" {
		t.Fatal("preview changed the engine's env")
	}
	if _, err := g.Preview(&req, "qa"); err == nil {
		t.Fatal("unknown env accepted")
	}
}
