package governance_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/weftos/weftos/internal/governance"
)

func ExampleParseEffect() {
	e, err := governance.ParseEffect("risk=0.8,privacy=0.2")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%v magnitude=%.3f\n", e, e.Magnitude())
	// Output: risk=0.8,fairness=0,privacy=0.2,novelty=0,security=0 magnitude=0.369
}

func ExampleParse() {
	_, err := governance.Parse("constitution.toml", []byte(`
[[rule]]
id = "no-shell"
branch = "executive"
severity = "fatal"
outcome = "deny"
[rule.when]
actions = ["tool.shell.*"]
colour = "red"
`))
	fmt.Println(err)
	// Output:
	// constitution.toml:9: rule[0].when.colour: unknown field
	// constitution.toml:5: rule[0].severity: invalid value "fatal" (want advisory, warning, blocking or critical)
}

func ExampleEngine_Decide() {
	c, err := governance.DefaultConstitution()
	if err != nil {
		fmt.Println(err)
		return
	}
	engine, err := governance.NewEngine(c, governance.EnvProd)
	if err != nil {
		fmt.Println(err)
		return
	}
	d := engine.Decide(&governance.Request{
		Action:       "tool.shell.bash",
		Agent:        "coder",
		Capabilities: []string{"can_exec_tools"},
		Effect:       governance.Effect{Risk: 0.7, Security: 0.6},
	})
	fmt.Println(d.Outcome, d.RuleIDs)
	fmt.Println(d.Reason)
	// Output:
	// deny [shell-requires-capability magnitude-over-threshold]
	// rule shell-requires-capability (blocking deny): shell tools need the shell capability; rule magnitude-over-threshold (blocking deny): effect magnitude above the environment threshold
}

func ExampleGate_Check() {
	c, _ := governance.DefaultConstitution()
	engine, _ := governance.NewEngine(c, governance.EnvDev)
	gate, err := governance.NewGate(engine, governance.GateConfig{
		Workspace:    []string{"/home/ada/ws"},
		AllowedHosts: []string{"*.weftos.dev"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := governance.Request{Action: "net.egress", Agent: "fetcher", Capabilities: []string{"can_network"},
		Context: governance.Context{Host: "exfil.example"}}
	d := gate.Check(context.Background(), &req)
	fmt.Println(d.Outcome, d.RuleIDs, d.Effect)
	// Output: deny [egress-high-security novel-action] risk=0.2,fairness=0,privacy=0.3,novelty=0.4,security=0.7
}

func ExamplePending() {
	p := governance.NewPending(governance.PendingConfig{})
	defer p.Close(context.Background())
	req := governance.Request{Action: "capability.elevate", Agent: "ops"}
	id, done, err := p.Defer(context.Background(), "act-42", req, governance.Decision{Outcome: governance.Defer}, time.Now().Add(time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(p.List()), "pending:", id)
	_ = p.Approve(id, "ada") // weave gov approve act-42
	r := <-done
	fmt.Println("approved:", r.Approved, "by", r.By)
	// Output:
	// 1 pending: act-42
	// approved: true by ada
}

func ExampleAmendment_Sign() {
	c, _ := governance.DefaultConstitution()
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	a, err := governance.NewRetirement(c, "novel-action")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := a.Sign(key); err != nil {
		fmt.Println(err)
		return
	}
	next, err := c.Apply(a, key.Public().(ed25519.PublicKey))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, still := next.Rule("novel-action")
	fmt.Println("revision", next.Revision, "rules", len(next.Rules), "novel-action in force:", still)
	// Output: revision 1 rules 19 novel-action in force: false
}

func ExampleAuditor_Audit() {
	c, err := governance.Parse("constitution.toml", []byte(`
[[rule]]
id = "shell-requires-capability"
branch = "executive"
severity = "blocking"
outcome = "deny"
sanctions = ["warn"]
[rule.when]
actions = ["tool.shell.*"]
without_capabilities = ["shell"]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	aud, _ := governance.NewAuditor(governance.AuditConfig{Initial: c})
	// A permit for shell without the capability: forged or buggy.
	forged := governance.DecisionRecord{
		ActionID: "a1",
		Request:  governance.Request{Action: "tool.shell.bash", Agent: "mallory"},
		Decision: governance.Decision{Outcome: governance.Permit, Env: "dev", ConstitutionHash: c.HashHex()},
	}
	rep, _ := aud.Audit(context.Background(), slices.Values([]governance.AuditInput{
		{Seq: 7, Kind: governance.KindDecision, Decision: &forged},
		{Seq: 8, Kind: governance.KindToolCall, Action: &governance.ActionRecord{ActionID: "a2", Action: "fs.write"}},
	}))
	_ = rep.WriteText(os.Stdout)
	// Output:
	// audit of seq 7..8: 2 records, 1 decisions, 0 refusals, 0 amendments, 1 actions
	// constitution in force: revision 0, hash f1300aea11dedcc2ceee6b39627b30199673b98ad270dd1e7fe09c45b0db3d73
	// findings: 2
	//   seq 7  decision_mismatch  action a1  agent mallory
	//     recorded permit (rules none) but the rules in force decide deny (rules shell-requires-capability): rule shell-requires-capability (blocking deny)
	//   seq 8  action_without_decision  action a2
	//     fs.write ran without a recorded decision
	// agents:
	//   AGENT                      RISK   PEAK DECISIONS DENIED DEFERRED
	//   mallory                   0.000  0.000         1      0        0
	// sanctions to apply: 1 (already recorded: 0)
	//   warn mallory (rule shell-requires-capability, action a1, risk 0.000)
}
