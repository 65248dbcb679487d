package governance

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

// oneRule builds a constitution with a single blocking deny rule whose
// [rule.when] body is when.
func oneRule(t *testing.T, when string) *Constitution {
	t.Helper()
	return mustParse(t, "[[rule]]\nid = \"r\"\nbranch = \"executive\"\nseverity = \"blocking\"\noutcome = \"deny\"\n[rule.when]\n"+when+"\n")
}

func TestConditions(t *testing.T) {
	base := Request{
		Action: "tool.shell.bash", Process: "worker-1", Agent: "alice", App: "notes",
		Capabilities: []string{"can_exec_tools", "shell"},
		Context:      Context{Path: "/work/a.txt", Host: "API.Example.com", Tool: "bash", Model: "claude-x", Extra: map[string]string{"repo": "weftos/main"}},
		Effect:       Effect{Risk: 0.5, Fairness: 0.1, Privacy: 0.2, Novelty: 0.3, Security: 0.4},
	}
	// base magnitude = sqrt(.25+.01+.04+.09+.16)/sqrt5 = 0.3317
	tests := []struct {
		name  string
		when  string
		env   string
		mod   func(*Request)
		match bool
	}{
		{"empty when matches all", "", "dev", nil, true},
		{"action exact", `actions = ["tool.shell.bash"]`, "dev", nil, true},
		{"action exact miss", `actions = ["tool.shell.sh"]`, "dev", nil, false},
		{"action prefix glob", `actions = ["tool.shell.*"]`, "dev", nil, true},
		{"action top glob", `actions = ["tool.*"]`, "dev", nil, true},
		{"action mid literal", `actions = ["tool.sh*"]`, "dev", nil, true},
		{"action star first", `actions = ["*.bash"]`, "dev", nil, true},
		{"action question", `actions = ["tool.shell.b?sh"]`, "dev", nil, true},
		{"action any-of", `actions = ["fs.write", "tool.shell.*"]`, "dev", nil, true},
		{"action negation excludes", `actions = ["tool.*", "!tool.shell.*"]`, "dev", nil, false},
		{"action negation only", `actions = ["!fs.*"]`, "dev", nil, true},
		{"action glob miss", `actions = ["fs.*"]`, "dev", nil, false},
		{"process", `processes = ["worker-*"]`, "dev", nil, true},
		{"process miss", `processes = ["kernel"]`, "dev", nil, false},
		{"agent", `agents = ["alice"]`, "dev", nil, true},
		{"agent miss", `agents = ["bob"]`, "dev", nil, false},
		{"agent absent", `agents = ["*"]`, "dev", func(r *Request) { r.Agent = "" }, false},
		{"app", `apps = ["no*"]`, "dev", nil, true},
		{"app miss", `apps = ["mail"]`, "dev", nil, false},
		{"capabilities all held", `capabilities = ["shell", "can_exec_tools"]`, "dev", nil, true},
		{"capabilities one missing", `capabilities = ["shell", "can_network"]`, "dev", nil, false},
		{"without: one missing", `without_capabilities = ["shell", "can_network"]`, "dev", nil, true},
		{"without: all held", `without_capabilities = ["shell"]`, "dev", nil, false},
		{"env listed", `envs = ["staging"]`, "staging", nil, true},
		{"env not listed", `envs = ["prod"]`, "staging", nil, false},
		{"path", `paths = ["/work/*"]`, "dev", nil, true},
		{"path miss", `paths = ["/etc/*"]`, "dev", nil, false},
		{"path absent", `paths = ["*"]`, "dev", func(r *Request) { r.Context.Path = "" }, false},
		{"host case-insensitive", `hosts = ["*.EXAMPLE.com"]`, "dev", nil, true},
		{"host negation (not allowed)", `hosts = ["!*.example.com", "!localhost"]`, "dev", nil, false},
		{"host negation matches other", `hosts = ["!*.example.org"]`, "dev", nil, true},
		{"tool", `tools = ["bash", "sh"]`, "dev", nil, true},
		{"tool miss", `tools = ["python*"]`, "dev", nil, false},
		{"model", `models = ["claude-*"]`, "dev", nil, true},
		{"model miss", `models = ["gpt-*"]`, "dev", nil, false},
		{"context key", `context = { repo = ["weftos/*"] }`, "dev", nil, true},
		{"context key miss", `context = { repo = ["other/*"] }`, "dev", nil, false},
		{"context key absent", `context = { branch = ["*"] }`, "dev", nil, false},
		{"min_risk at", `min_risk = 0.5`, "dev", nil, true},
		{"min_risk above", `min_risk = 0.51`, "dev", nil, false},
		{"min_fairness", `min_fairness = 0.1`, "dev", nil, true},
		{"min_fairness miss", `min_fairness = 0.2`, "dev", nil, false},
		{"min_privacy", `min_privacy = 0.2`, "dev", nil, true},
		{"min_privacy miss", `min_privacy = 0.3`, "dev", nil, false},
		{"min_novelty", `min_novelty = 0.3`, "dev", nil, true},
		{"min_novelty miss", `min_novelty = 0.4`, "dev", nil, false},
		{"min_security", `min_security = 0.4`, "dev", nil, true},
		{"min_security miss", `min_security = 0.41`, "dev", nil, false},
		{"min_magnitude", `min_magnitude = 0.33`, "dev", nil, true},
		{"min_magnitude miss", `min_magnitude = 0.34`, "dev", nil, false},
		{"over env threshold prod", `over_env_threshold = true`, "prod", nil, true},
		{"over env threshold staging", `over_env_threshold = true`, "staging", nil, false},
		{"over env threshold dev", `over_env_threshold = true`, "dev", nil, false},
		{"all conditions", "actions = [\"tool.shell.*\"]\nagents = [\"alice\"]\ncapabilities = [\"shell\"]\nmin_risk = 0.5\nhosts = [\"api.example.com\"]", "dev", nil, true},
		{"all but one", "actions = [\"tool.shell.*\"]\nagents = [\"alice\"]\ncapabilities = [\"shell\"]\nmin_risk = 0.6", "dev", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := oneRule(t, tc.when)
			e := mustEngine(t, c, tc.env)
			req := base
			req.Capabilities = slices.Clone(base.Capabilities)
			if tc.mod != nil {
				tc.mod(&req)
			}
			d := e.Decide(&req)
			got := slices.Contains(d.RuleIDs, "r")
			if got != tc.match {
				t.Fatalf("match = %v, want %v (decision %+v)", got, tc.match, d)
			}
			if got && d.Outcome != Deny {
				t.Fatalf("matched blocking deny but outcome %s", d.Outcome)
			}
		})
	}
}

func TestEnvironmentsDefaultOutcome(t *testing.T) {
	c := mustParse(t, "format = 1\n")
	// magnitude 0.5 with risk=security=privacy=novelty=fairness=0.5
	mid := Effect{Risk: 0.5, Fairness: 0.5, Privacy: 0.5, Novelty: 0.5, Security: 0.5}
	low := Effect{Risk: 0.2}
	high := Effect{Risk: 0.95, Fairness: 0.95, Privacy: 0.95, Novelty: 0.95, Security: 0.95}
	tests := []struct {
		env    string
		effect Effect
		want   Outcome
		reason string
	}{
		{"dev", low, Permit, ReasonNoRule},
		{"dev", mid, Permit, ReasonNoRule},
		{"dev", high, Defer, ReasonOverThreshold},
		{"staging", low, Permit, ReasonNoRule},
		{"staging", mid, Permit, ReasonNoRule},
		{"staging", Effect{Risk: 0.7, Fairness: 0.7, Privacy: 0.7, Novelty: 0.7, Security: 0.7}, Defer, ReasonOverThreshold},
		{"prod", low, Permit, ReasonNoRule},
		{"prod", mid, Defer, ReasonOverThreshold},
		{"prod", high, Defer, ReasonOverThreshold},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%.2f", tc.env, tc.effect.Magnitude()), func(t *testing.T) {
			e := mustEngine(t, c, tc.env)
			d := e.Decide(&Request{Action: "x.y", Effect: tc.effect})
			if d.Outcome != tc.want || d.Reason != tc.reason || d.Env != tc.env {
				t.Fatalf("got %s %q env %s, want %s %q", d.Outcome, d.Reason, d.Env, tc.want, tc.reason)
			}
			th, _ := c.Environments.Threshold(tc.env)
			if d.Threshold != th {
				t.Fatalf("threshold %v want %v", d.Threshold, th)
			}
		})
	}
	if _, err := NewEngine(c, "qa"); err == nil {
		t.Fatal("unknown env accepted")
	}
}

func TestConfiguredThresholds(t *testing.T) {
	c := mustParse(t, "[environments]\ndev = 0.5\nstaging = 0.2\nprod = 0.1\n")
	e := mustEngine(t, c, "dev")
	eff := Effect{Risk: 0.6, Security: 0.6} // magnitude 0.379
	if d := e.Decide(&Request{Action: "a", Effect: eff}); d.Outcome != Permit {
		t.Fatalf("dev: %s", d.Outcome)
	}
	if err := e.SetEnv("staging"); err != nil {
		t.Fatal(err)
	}
	if d := e.Decide(&Request{Action: "a", Effect: eff}); d.Outcome != Defer || d.Threshold != 0.2 {
		t.Fatalf("staging: %+v", d)
	}
}

const precedenceRules = `
[[rule]]
id = "w-deny"
branch = "executive"
severity = "warning"
outcome = "deny"
[rule.when]
actions = ["a.*"]
agents = ["x"]

[[rule]]
id = "b-permit"
branch = "executive"
severity = "blocking"
outcome = "permit"
[rule.when]
actions = ["a.b"]

[[rule]]
id = "b-defer"
branch = "executive"
severity = "blocking"
outcome = "defer"
[rule.when]
actions = ["a.b"]
min_risk = 0.5

[[rule]]
id = "c-deny"
branch = "executive"
severity = "critical"
outcome = "deny"
[rule.when]
actions = ["a.b"]
min_risk = 0.9

[[rule]]
id = "adv"
branch = "executive"
severity = "advisory"
outcome = "deny"
[rule.when]
actions = ["a.c"]

[[rule]]
id = "w-warn"
branch = "executive"
severity = "warning"
outcome = "warn"
[rule.when]
actions = ["a.d"]
`

func TestPrecedence(t *testing.T) {
	c := mustParse(t, precedenceRules)
	e := mustEngine(t, c, "dev")
	tests := []struct {
		name   string
		req    Request
		want   Outcome
		ids    []string
		reason string
	}{
		{"single permit rule", Request{Action: "a.b"}, Permit, []string{"b-permit"}, "rule b-permit"},
		{"higher severity permit overrides warning deny, with warning", Request{Action: "a.b", Agent: "x"}, PermitWithWarning, []string{"w-deny", "b-permit"}, "overridden lower-severity objections: w-deny"},
		{"same severity: defer beats permit", Request{Action: "a.b", Effect: Effect{Risk: 0.5}}, Defer, []string{"b-permit", "b-defer"}, "rule b-defer"},
		{"critical deny decides", Request{Action: "a.b", Agent: "x", Effect: Effect{Risk: 0.95}}, Deny, []string{"w-deny", "b-permit", "b-defer", "c-deny"}, "rule c-deny"},
		{"warning deny alone decides", Request{Action: "a.z", Agent: "x"}, Deny, []string{"w-deny"}, "rule w-deny"},
		{"advisory deny only warns", Request{Action: "a.c"}, PermitWithWarning, []string{"adv"}, "rule adv"},
		{"advisory under threshold default", Request{Action: "a.c", Effect: Effect{Risk: 1, Security: 1, Privacy: 1, Novelty: 1, Fairness: 1}}, Defer, []string{"adv"}, ReasonOverThreshold},
		{"warn rule", Request{Action: "a.d"}, PermitWithWarning, []string{"w-warn"}, "rule w-warn"},
		{"no rule", Request{Action: "b.a"}, Permit, nil, ReasonNoRule},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Decide(&tc.req)
			if d.Outcome != tc.want || !slices.Equal(d.RuleIDs, tc.ids) || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("got %s %v %q; want %s %v containing %q", d.Outcome, d.RuleIDs, d.Reason, tc.want, tc.ids, tc.reason)
			}
			if d.ConstitutionHash != c.HashHex() {
				t.Fatal("decision does not name the constitution")
			}
		})
	}
}

func TestDefaultConstitutionDecisions(t *testing.T) {
	c := mustDefault(t)
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("default constitution has warnings: %v", w)
	}
	all := []string{"can_exec_tools", "shell", "can_spawn", "can_ipc", "can_network", "gov.amend"}
	tests := []struct {
		name string
		env  string
		req  Request
		want Outcome
		rule string
	}{
		{"shell without capability", "dev", Request{Action: "tool.shell.bash", Capabilities: []string{"can_exec_tools"}, Effect: Effect{Risk: 0.7}}, Deny, "shell-requires-capability"},
		{"shell with capabilities dev", "dev", Request{Action: "tool.shell.bash", Capabilities: all, Effect: Effect{Risk: 0.7, Security: 0.6}}, Permit, ""},
		{"shell with capabilities prod", "prod", Request{Action: "tool.shell.bash", Capabilities: all, Effect: Effect{Risk: 0.7, Security: 0.6}}, Deny, "magnitude-over-threshold"},
		{"spawn without can_spawn", "dev", Request{Action: "agent.spawn"}, Deny, "spawn-requires-capability"},
		{"egress high security", "dev", Request{Action: "net.egress", Capabilities: all, Effect: Effect{Security: 0.7}}, Deny, "egress-high-security"},
		{"egress normal", "dev", Request{Action: "net.egress", Capabilities: all, Effect: Effect{Security: 0.3}}, Permit, ""},
		{"secrets write critical", "dev", Request{Action: "fs.write", Capabilities: all, Context: Context{Path: "/home/u/.ssh/id_ed25519"}}, Deny, "protect-secrets"},
		{"elevation prod defers over magnitude", "prod", Request{Action: "capability.elevate", Capabilities: all, Effect: Effect{Risk: 0.6, Security: 0.8}}, Defer, "elevation-needs-approval-in-prod"},
		{"elevation staging warns", "staging", Request{Action: "capability.elevate", Capabilities: all, Effect: Effect{Risk: 0.2}}, PermitWithWarning, "elevation-warn-in-staging"},
		{"install staging defers", "staging", Request{Action: "app.install", Capabilities: all}, Defer, "install-needs-approval"},
		{"install dev permits", "dev", Request{Action: "app.install", Capabilities: all}, Permit, ""},
		{"trust prod defers over magnitude", "prod", Request{Action: "app.trust", Capabilities: all, Effect: Effect{Risk: 0.4, Security: 0.6, Novelty: 0.2}}, Defer, "install-needs-approval"},
		{"trust dev permits", "dev", Request{Action: "app.trust", Capabilities: all, Effect: Effect{Risk: 0.4, Security: 0.6, Novelty: 0.2}}, Permit, ""},
		{"configure prod permits", "prod", Request{Action: "app.configure", Capabilities: all, Effect: Effect{Risk: 0.2, Privacy: 0.1, Security: 0.2}}, Permit, ""},
		{"novelty warns", "dev", Request{Action: "fs.read", Effect: Effect{Novelty: 0.4}}, PermitWithWarning, "novel-action"},
		{"amend without capability", "dev", Request{Action: ActionAmend}, Deny, "amend-requires-capability"},
		{"amend in prod defers", "prod", Request{Action: ActionAmend, Capabilities: all}, Defer, "amend-needs-approval-in-prod"},
		{"amend in dev permits", "dev", Request{Action: ActionAmend, Capabilities: all}, Permit, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := mustEngine(t, c, tc.env).Decide(&tc.req)
			if d.Outcome != tc.want {
				t.Fatalf("outcome %s want %s (%v: %s)", d.Outcome, tc.want, d.RuleIDs, d.Reason)
			}
			if tc.rule != "" && !slices.Contains(d.RuleIDs, tc.rule) {
				t.Fatalf("rules %v lack %s", d.RuleIDs, tc.rule)
			}
		})
	}
}

func TestDecideAllocs(t *testing.T) {
	c := mustDefault(t)
	e := mustEngine(t, c, "dev")
	reqs := []Request{
		{Action: "fs.read", Agent: "a", Capabilities: []string{"can_exec_tools"}},                      // no rule
		{Action: "tool.shell.bash", Agent: "a", Capabilities: []string{"shell", "can_exec_tools"}},     // no rule
		{Action: "net.egress", Capabilities: []string{"can_network"}, Effect: Effect{Security: 0.8}},   // one deny rule
		{Action: "fs.read", Effect: Effect{Novelty: 0.9}},                                              // one advisory rule
		{Action: "tool.exec.git", Context: Context{Host: "x", Path: "/a", Extra: map[string]string{}}}, // one deny rule
	}
	for _, r := range reqs {
		r := r
		if n := testing.AllocsPerRun(100, func() { _ = e.Decide(&r) }); n != 0 {
			t.Errorf("%s: %v allocs per Decide", r.Action, n)
		}
	}
}

func TestConcurrentDecideAndAmend(t *testing.T) {
	c1 := mustParse(t, "[[rule]]\nid = \"a\"\nbranch = \"executive\"\nseverity = \"blocking\"\noutcome = \"deny\"\n[rule.when]\nactions = [\"x.*\"]\n")
	c2 := mustParse(t, "[[rule]]\nid = \"b\"\nbranch = \"executive\"\nseverity = \"blocking\"\noutcome = \"defer\"\n[rule.when]\nactions = [\"x.*\"]\n")
	e := mustEngine(t, c1, "dev")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := Request{Action: "x.y"}
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := e.Decide(&req)
				// Each decision must come from one consistent snapshot.
				switch {
				case d.Outcome == Deny && d.RuleIDs[0] == "a" && d.ConstitutionHash == c1.HashHex():
				case d.Outcome == Defer && d.RuleIDs[0] == "b" && d.ConstitutionHash == c2.HashHex():
				default:
					t.Errorf("inconsistent decision %+v", d)
					return
				}
			}
		}()
	}
	for i := range 200 {
		c := c1
		if i%2 == 0 {
			c = c2
		}
		if err := e.SetConstitution(c); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if e.Constitution() != c1 {
		t.Fatal("last constitution not in force")
	}
}

func TestNilRequest(t *testing.T) {
	e := mustEngine(t, mustDefault(t), "dev")
	if d := e.Decide(nil); d.Outcome != Deny || d.Reason != ReasonNilRequest {
		t.Fatalf("%+v", d)
	}
}

func TestOutcomeText(t *testing.T) {
	for o := Permit; o <= Deny; o++ {
		b, err := o.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Outcome
		if err := back.UnmarshalText(b); err != nil || back != o {
			t.Fatalf("%s round trip: %v %v", o, back, err)
		}
	}
	var o Outcome
	if o.UnmarshalText([]byte("maybe")) == nil {
		t.Fatal("unknown outcome accepted")
	}
	if _, err := Outcome(9).MarshalText(); err == nil {
		t.Fatal("invalid outcome marshalled")
	}
}

func TestNewFromCode(t *testing.T) {
	c, err := New("code", DefaultEnvironments(), []Rule{{ID: "x", Branch: Executive, Severity: Blocking, Outcome: RuleDeny,
		When: Conditions{Actions: []string{"a.*"}, MinRisk: ptr(0.5)}}})
	if err != nil {
		t.Fatal(err)
	}
	if d := mustEngine(t, c, "dev").Decide(&Request{Action: "a.b", Effect: Effect{Risk: 0.6}}); d.Outcome != Deny {
		t.Fatalf("%+v", d)
	}
	if _, err := New("bad", DefaultEnvironments(), []Rule{{ID: "x"}}); err == nil {
		t.Fatal("invalid rule accepted")
	}
	if _, err := NewEngine(&Constitution{}, "dev"); err == nil {
		t.Fatal("unvalidated constitution compiled")
	}
}
