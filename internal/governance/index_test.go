package governance

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// indexTestConstitution mixes the benchmark rules with rules whose globs
// stress the second-level index: short and long literal prefixes, '?',
// negations, several values per field and rules without indexable fields.
func indexTestConstitution(t testing.TB) *Constitution {
	t.Helper()
	text := genConstitution(400)
	extra := []string{
		`actions = ["net.egress"]` + "\n" + `hosts = ["h1*"]`,
		`actions = ["net.egress"]` + "\n" + `hosts = ["h?3.example"]`,
		`actions = ["net.egress"]` + "\n" + `hosts = ["!h13.example"]`,
		`actions = ["net.egress"]` + "\n" + `hosts = ["*.example"]`,
		`actions = ["net.egress"]` + "\n" + `hosts = ["h2.example", "x*"]` + "\n" + `agents = ["a*"]`,
		`actions = ["net.egress"]` + "\n" + `tools = ["t1-*", "t2-*"]`,
		`actions = ["tool.exec.*"]` + "\n" + `tools = ["t"]`,
		`actions = ["tool.exec.*"]` + "\n" + `tools = ["t12-lint"]` + "\n" + `paths = ["/srv/12/*"]`,
		`actions = ["tool.exec.*"]` + "\n" + `models = ["claude-opus-4-1-extended-thinking-*"]`,
		`agents = ["quarantine-1*"]`,
	}
	for i, w := range extra {
		text += fmt.Sprintf("\n[[rule]]\nid = \"x%d\"\nbranch = \"executive\"\nseverity = \"warning\"\noutcome = \"warn\"\n[rule.when]\n%s\n", i, w)
	}
	return mustParse(t, text)
}

// bruteMatches evaluates every gate rule without the index.
func bruteMatches(s *snapshot, req *Request) []string {
	mag := req.Effect.Magnitude()
	var ids []string
	for i := range s.rules {
		if s.rules[i].matches(req, mag, s.threshold) {
			ids = append(ids, s.rules[i].id)
		}
	}
	return ids
}

func checkIndex(t *testing.T, s *snapshot, req *Request) {
	t.Helper()
	got := s.decide(req).RuleIDs
	want := bruteMatches(s, req)
	if !slices.Equal(got, want) {
		t.Fatalf("request %+v: index matched %v, brute force %v", *req, got, want)
	}
}

var (
	poolActions = []string{"net.egress", "tool.exec.grep", "tool.exec.t12-lint", "svc3.read", "svc10.op10", "svc11.op11.x", "svc13.fetch", "fs.read", "", "tool.", "net.egress.x"}
	poolHosts   = []string{"", "h13.example", "H13.EXAMPLE", "h1", "h113.example", "h23.example", "x", "xy.example", "h2.example", "api.weftos.dev"}
	poolTools   = []string{"", "t", "t1-a", "t12-lint", "t2-", "t999-x", "grep"}
	poolAgents  = []string{"", "a", "agent11", "quarantine-1-x", "quarantine-12", "bob"}
	poolPaths   = []string{"", "/srv/12/a", "/srv/1", "/tmp"}
	poolModels  = []string{"", "claude-opus-4-1-extended-thinking-x", "claude-opus-4-1-extended-thinking", "gpt"}
)

func TestIndexMatchesBruteForce(t *testing.T) {
	c := indexTestConstitution(t)
	for _, env := range []string{EnvDev, EnvProd} {
		s := mustEngine(t, c, env).snap.Load()
		rng := rand.New(rand.NewPCG(1, 2))
		pick := func(p []string) string { return p[rng.IntN(len(p))] }
		for range 5000 {
			req := Request{
				Action: pick(poolActions), Agent: pick(poolAgents),
				Capabilities: caps[:rng.IntN(len(caps)+1)],
				Context:      Context{Host: pick(poolHosts), Tool: pick(poolTools), Path: pick(poolPaths), Model: pick(poolModels)},
				Effect:       Effect{Risk: rng.Float64(), Security: rng.Float64(), Privacy: rng.Float64()},
			}
			checkIndex(t, s, &req)
		}
	}
}

func FuzzIndex(f *testing.F) {
	f.Add("net.egress", "h13.example", "t1-a", "agent1", "/srv/12/x", "m", 0.5)
	f.Add("tool.exec.t12-lint", "", "t12-lint", "quarantine-1-", "", "claude-opus-4-1-extended-thinking-", 0.99)
	c := indexTestConstitution(f)
	s := mustEngine(f, c, "dev").snap.Load()
	f.Fuzz(func(t *testing.T, action, host, tool, agent, path, model string, risk float64) {
		req := Request{Action: action, Agent: agent, Capabilities: caps[:3],
			Context: Context{Host: host, Tool: tool, Path: path, Model: model}, Effect: Effect{Risk: risk, Security: risk}}
		checkIndex(t, s, &req)
	})
}
