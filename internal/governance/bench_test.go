package governance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// genConstitution writes a constitution of n generated rules spread over 50
// service namespaces, tool and network rules, and a few action-less rules
// that are candidates for every request.
func genConstitution(n int) string {
	var b strings.Builder
	b.WriteString("format = 1\nname = \"bench\"\n")
	for i := 0; i < n; i++ {
		ns := i % 50
		fmt.Fprintf(&b, "\n[[rule]]\nid = \"r%d\"\nbranch = \"executive\"\n", i)
		switch {
		case i < 10:
			fmt.Fprintf(&b, "severity = \"blocking\"\noutcome = \"deny\"\n[rule.when]\nmin_magnitude = 0.%d5\nagents = [\"quarantine-%d-*\"]\n", 5+i%4, i)
		case i%5 == 0:
			fmt.Fprintf(&b, "severity = \"blocking\"\noutcome = \"deny\"\n[rule.when]\nactions = [\"svc%d.op%d\"]\nwithout_capabilities = [\"cap%d\"]\n", ns, i, i%7)
		case i%5 == 1:
			fmt.Fprintf(&b, "severity = \"blocking\"\noutcome = \"defer\"\n[rule.when]\nactions = [\"svc%d.op%d.*\"]\nagents = [\"agent%d\"]\nmin_risk = 0.8\n", ns, i, i%30)
		case i%5 == 2:
			fmt.Fprintf(&b, "severity = \"advisory\"\noutcome = \"warn\"\n[rule.when]\nactions = [\"tool.exec.*\"]\ntools = [\"t%d-*\"]\n", i)
		case i%5 == 3:
			fmt.Fprintf(&b, "severity = \"warning\"\noutcome = \"deny\"\n[rule.when]\nactions = [\"net.egress\", \"svc%d.fetch\"]\nhosts = [\"h%d.example\"]\n", ns, i)
		default:
			fmt.Fprintf(&b, "severity = \"warning\"\noutcome = \"warn\"\n[rule.when]\nactions = [\"svc%d.*\"]\nmin_security = 0.9%d\npaths = [\"/srv/%d/*\"]\n", ns, i%10, i)
		}
	}
	return b.String()
}

func benchEngine(b *testing.B, n int) *Engine {
	b.Helper()
	c, err := Parse("bench.toml", []byte(genConstitution(n)))
	if err != nil {
		b.Fatal(err)
	}
	if len(c.Rules) != n {
		b.Fatalf("%d rules", len(c.Rules))
	}
	return mustEngine(b, c, "dev")
}

var caps = []string{"cap0", "cap1", "cap2", "cap3", "cap4", "cap5", "cap6"}

// permitRequests match no deciding rule (some are candidates of several).
var permitRequests = []Request{
	{Action: "svc3.read", Agent: "agent1", Capabilities: caps, Effect: Effect{Risk: 0.2, Security: 0.1}},
	{Action: "svc10.op10", Agent: "agent2", Capabilities: caps, Effect: Effect{Risk: 0.1}},
	{Action: "svc11.op11.x", Agent: "agent3", Capabilities: caps, Effect: Effect{Risk: 0.9}},
	{Action: "net.egress", Agent: "agent4", Capabilities: caps, Context: Context{Host: "api.weftos.dev"}, Effect: Effect{Security: 0.3}},
	{Action: "tool.exec.grep", Agent: "agent5", Capabilities: caps, Context: Context{Tool: "grep", Path: "/srv/x"}},
	{Action: "fs.read", Agent: "agent6", Capabilities: caps, Context: Context{Path: "/ws/a"}},
}

var mixedRequests = append(slices.Clone(permitRequests),
	Request{Action: "svc10.op10", Agent: "a", Capabilities: nil},                                                               // deny
	Request{Action: "svc11.op11.run", Agent: "agent11", Capabilities: caps, Effect: Effect{Risk: 0.9}},                         // defer
	Request{Action: "net.egress", Agent: "a", Capabilities: caps, Context: Context{Host: "h13.example"}},                       // warning deny
	Request{Action: "tool.exec.t12-lint", Agent: "a", Capabilities: caps, Context: Context{Tool: "t12-lint"}},                  // advisory
	Request{Action: "svc4.op4", Agent: "quarantine-0-x", Capabilities: caps, Effect: Effect{Risk: 1, Security: 1, Privacy: 1}}, // global deny
)

// benchDecide runs Decide over reqs and reports the per-call p50 and p99
// (each call timed individually; the timing itself adds a few tens of ns).
func benchDecide(b *testing.B, e *Engine, reqs []Request) {
	durs := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := &reqs[i%len(reqs)]
		t0 := time.Now()
		_ = e.Decide(r)
		durs[i] = time.Since(t0)
	}
	b.StopTimer()
	reportPercentiles(b, durs)
}

func reportPercentiles(b *testing.B, durs []time.Duration) {
	slices.Sort(durs)
	pct := func(p float64) float64 {
		return float64(durs[min(len(durs)-1, int(float64(len(durs))*p))].Nanoseconds())
	}
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
}

func BenchmarkDecide1000(b *testing.B) {
	e := benchEngine(b, 1000)
	for _, r := range permitRequests {
		if d := e.Decide(&r); d.Outcome != Permit {
			b.Fatalf("%s: %s %v", r.Action, d.Outcome, d.RuleIDs)
		}
	}
	b.Run("permit", func(b *testing.B) { benchDecide(b, e, permitRequests) })
	b.Run("mixed", func(b *testing.B) { benchDecide(b, e, mixedRequests) })
}

func BenchmarkGateCheck1000(b *testing.B) {
	g, err := NewGate(benchEngine(b, 1000), GateConfig{Workspace: []string{"/ws"}, AllowedHosts: []string{"*.weftos.dev"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, r := range permitRequests {
		g.Novelty().Observe(r.Agent, r.Action)
	}
	durs := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := &permitRequests[i%len(permitRequests)]
		t0 := time.Now()
		_ = g.Check(ctx, r)
		durs[i] = time.Since(t0)
	}
	b.StopTimer()
	reportPercentiles(b, durs)
}

func BenchmarkParse1000(b *testing.B) {
	text := []byte(genConstitution(1000))
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("bench.toml", text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompile1000(b *testing.B) {
	c, err := Parse("bench.toml", []byte(genConstitution(1000)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewEngine(c, "prod"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestGeneratedConstitutionDecisions(t *testing.T) {
	c, err := Parse("bench.toml", []byte(genConstitution(1000)))
	if err != nil {
		t.Fatal(err)
	}
	e := mustEngine(t, c, "dev")
	want := []Outcome{Permit, Permit, Permit, Permit, Permit, Permit, Deny, Defer, Deny, PermitWithWarning, Deny}
	for i, r := range mixedRequests {
		if d := e.Decide(&r); d.Outcome != want[i] {
			t.Errorf("%d %s: %s %v, want %s", i, r.Action, d.Outcome, d.RuleIDs, want[i])
		}
		if n := testing.AllocsPerRun(20, func() { _ = e.Decide(&r) }); i < len(permitRequests) && n != 0 {
			t.Errorf("%s: %v allocs on the permit path", r.Action, n)
		}
	}
}
