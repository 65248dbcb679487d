package governance

import (
	"crypto/ed25519"
	"errors"
	"slices"
	"strings"
	"testing"
)

func testKey(t testing.TB, seed byte) ed25519.PrivateKey {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

const extraRule = `[[rule]]
id = "no-gpu-models"
description = "no large models in prod"
branch = "executive"
severity = "blocking"
outcome = "deny"
[rule.when]
actions = ["llm.call"]
models = ["*-xl"]
envs = ["prod"]
`

func TestAmendmentLifecycle(t *testing.T) {
	key := testKey(t, 1)
	pub := key.Public().(ed25519.PublicKey)
	c0 := mustDefault(t)

	add, err := NewRuleAmendmentFromText(c0, "rule.toml", []byte(extraRule))
	if err != nil {
		t.Fatal(err)
	}
	if add.Op != AmendAdd || add.RuleID != "no-gpu-models" || add.RuleHash != HashRuleText(add.RuleText) || add.Base != c0.HashHex() {
		t.Fatalf("prepared %+v", add)
	}
	if _, err := c0.Apply(add); !errors.Is(err, ErrUnsigned) {
		t.Fatalf("unsigned: %v", err)
	}
	if err := add.Sign(key); err != nil {
		t.Fatal(err)
	}
	if err := add.Verify(pub); err != nil {
		t.Fatal(err)
	}
	if err := add.Verify(testKey(t, 2).Public().(ed25519.PublicKey)); !errors.Is(err, ErrUntrustedSigner) {
		t.Fatalf("untrusted: %v", err)
	}
	c1, err := c0.Apply(add, pub)
	if err != nil {
		t.Fatal(err)
	}
	if c1.Revision != c0.Revision+1 || len(c1.Rules) != len(c0.Rules)+1 || c1.HashHex() == c0.HashHex() {
		t.Fatal("add did not produce a new revision")
	}
	if _, ok := c0.Rule("no-gpu-models"); ok {
		t.Fatal("Apply modified its receiver")
	}
	e := mustEngine(t, c1, "prod")
	if d := e.Decide(&Request{Action: "llm.call", Context: Context{Model: "big-xl"}}); d.Outcome != Deny {
		t.Fatalf("new rule not in force: %+v", d)
	}

	// Modify: relax to warn.
	r, _ := c1.Rule("no-gpu-models")
	r.Outcome, r.Severity = RuleWarn, Warning
	mod, err := NewRuleAmendment(c1, AmendModify, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := mod.Sign(key); err != nil {
		t.Fatal(err)
	}
	c2, err := c1.Apply(mod, pub)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c2.Rule("no-gpu-models"); got.Outcome != RuleWarn {
		t.Fatal("modify not applied")
	}
	// Replaying an amendment against the wrong base fails.
	if _, err := c2.Apply(mod, pub); !errors.Is(err, ErrStaleBase) {
		t.Fatalf("stale base: %v", err)
	}

	ret, err := NewRetirement(c2, "no-gpu-models")
	if err != nil {
		t.Fatal(err)
	}
	if err := ret.Sign(key); err != nil {
		t.Fatal(err)
	}
	c3, err := c2.Apply(ret, pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c3.Rule("no-gpu-models"); ok || c3.Revision != 3 {
		t.Fatal("retire not applied")
	}
	// Same rules as c0, but a later revision: a different hash.
	if c3.HashHex() == c0.HashHex() {
		t.Fatal("revision not part of the hash")
	}

	// Adoption (genesis).
	ad, err := NewAdoption(c3)
	if err != nil {
		t.Fatal(err)
	}
	if err := ad.Sign(key); err != nil {
		t.Fatal(err)
	}
	var none *Constitution
	c4, err := none.Apply(ad)
	if err != nil || c4.HashHex() != c3.HashHex() {
		t.Fatalf("adoption: %v", err)
	}
}

func TestBadAmendments(t *testing.T) {
	key := testKey(t, 1)
	c0 := mustDefault(t)
	signed := func(a Amendment) Amendment {
		if err := a.Sign(key); err != nil {
			t.Fatal(err)
		}
		return a
	}
	good, err := NewRuleAmendmentFromText(c0, "rule.toml", []byte(extraRule))
	if err != nil {
		t.Fatal(err)
	}
	contradicting := strings.Replace(extraRule, `id = "no-gpu-models"`, `id = "shell-again"`, 1)
	contradicting = strings.Replace(contradicting, "[rule.when]\nactions = [\"llm.call\"]\nmodels = [\"*-xl\"]\nenvs = [\"prod\"]\n",
		"[rule.when]\nactions = [\"tool.shell.*\"]\nwithout_capabilities = [\"shell\"]\n", 1)
	contradicting = strings.Replace(contradicting, `outcome = "deny"`, `outcome = "permit"`, 1)
	cr, err := ParseRule("c.toml", []byte(contradicting))
	if err != nil {
		t.Fatal(err)
	}
	contra, err := NewRuleAmendment(c0, AmendAdd, cr)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		a    Amendment
		want error
	}{
		{"tampered text", func() Amendment {
			a := signed(good)
			a.RuleText = strings.Replace(a.RuleText, "deny", "permit", 1)
			return a
		}(), ErrInvalidAmendment},
		{"tampered hash", func() Amendment {
			a := signed(good)
			a.RuleHash = HashRuleText("x")
			return a
		}(), ErrBadSignature},
		{"tampered op", func() Amendment {
			a := signed(good)
			a.Op = AmendModify
			return a
		}(), ErrBadSignature},
		{"bad signature encoding", func() Amendment {
			a := signed(good)
			a.Signature = "!!"
			return a
		}(), ErrBadSignature},
		{"bad signer", func() Amendment {
			a := signed(good)
			a.Signer = "zz"
			return a
		}(), ErrBadSignature},
		{"add existing", signed(Amendment{Op: AmendAdd, RuleID: "novel-action", RuleText: mustRuleText(t, c0, "novel-action"),
			RuleHash: HashRuleText(mustRuleText(t, c0, "novel-action")), Base: c0.HashHex()}), ErrInvalidAmendment},
		{"modify missing", signed(Amendment{Op: AmendModify, RuleID: "no-gpu-models", RuleText: good.RuleText, RuleHash: good.RuleHash, Base: c0.HashHex()}), ErrInvalidAmendment},
		{"retire missing", signed(Amendment{Op: AmendRetire, RuleID: "nope", Base: c0.HashHex()}), ErrInvalidAmendment},
		{"retire with text", signed(Amendment{Op: AmendRetire, RuleID: "novel-action", RuleText: "x", RuleHash: HashRuleText("x"), Base: c0.HashHex()}), ErrInvalidAmendment},
		{"id mismatch", signed(Amendment{Op: AmendAdd, RuleID: "other", RuleText: good.RuleText, RuleHash: good.RuleHash, Base: c0.HashHex()}), ErrInvalidAmendment},
		{"unknown op", signed(Amendment{Op: "burn", RuleID: "x", RuleText: good.RuleText, RuleHash: good.RuleHash, Base: c0.HashHex()}), ErrInvalidAmendment},
		{"invalid rule text", signed(Amendment{Op: AmendAdd, RuleID: "x", RuleText: "[[rule]]\nid = \"x\"\n", RuleHash: HashRuleText("[[rule]]\nid = \"x\"\n"), Base: c0.HashHex()}), ErrInvalidAmendment},
		{"contradiction", signed(contra), ErrInvalidAmendment},
		{"adopt with base", signed(Amendment{Op: AmendAdopt, RuleText: c0.Canonical(), RuleHash: c0.HashHex(), Base: c0.HashHex()}), ErrInvalidAmendment},
		{"stale", signed(Amendment{Op: AmendRetire, RuleID: "novel-action", Base: HashRuleText("old")}), ErrStaleBase},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c0.Apply(tc.a)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// The contradiction error names the amendment file and the field.
	_, err = c0.Apply(signed(contra))
	if err == nil || !strings.Contains(err.Error(), "amendment:shell-again:") || !strings.Contains(err.Error(), "outcome") {
		t.Fatalf("contradiction error not located: %v", err)
	}
	var none *Constitution
	if _, err := none.Apply(signed(good)); !errors.Is(err, ErrInvalidAmendment) {
		t.Fatalf("nil base: %v", err)
	}
	if _, err := NewRetirement(c0, "nope"); err == nil {
		t.Fatal("retire of unknown rule prepared")
	}
	if _, err := NewRuleAmendment(c0, AmendRetire, Rule{}); err == nil {
		t.Fatal("retire via NewRuleAmendment")
	}
	if err := (&Amendment{}).Sign(ed25519.PrivateKey{1}); err == nil {
		t.Fatal("short key accepted")
	}
}

func mustRuleText(t *testing.T, c *Constitution, id string) string {
	t.Helper()
	r, ok := c.Rule(id)
	if !ok {
		t.Fatalf("no rule %s", id)
	}
	return r.Canonical()
}

// Amendments are governed actions: the gate decides them like any other.
func TestAmendmentIsGoverned(t *testing.T) {
	c := mustDefault(t)
	a, err := NewRetirement(c, "novel-action")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  string
		caps []string
		want Outcome
		rule string
	}{
		{"dev", nil, Deny, "amend-requires-capability"},
		{"dev", []string{"gov.amend"}, Permit, ""},
		{"prod", []string{"gov.amend"}, Defer, "amend-needs-approval-in-prod"},
	} {
		req := a.Request("operator", tc.caps)
		if req.Action != ActionAmend || req.Context.Extra["op"] != "retire" || req.Context.Extra["rule"] != "novel-action" {
			t.Fatalf("request %+v", req)
		}
		d := mustEngine(t, c, tc.env).Decide(&req)
		if d.Outcome != tc.want || (tc.rule != "" && !slices.Contains(d.RuleIDs, tc.rule)) {
			t.Fatalf("%s %v: %+v", tc.env, tc.caps, d)
		}
	}
}

// FuzzAmendment feeds arbitrary amendments to Apply, both signed by the
// trusted key (to reach rule parsing and validation) and with fuzzed
// signature fields (to exercise Verify).
func FuzzAmendment(f *testing.F) {
	c0 := mustDefault(f)
	key := testKey(f, 9)
	pub := key.Public().(ed25519.PublicKey)
	f.Add("add", "no-gpu-models", extraRule, "", "")
	f.Add("modify", "novel-action", mustRuleTextF(f, c0, "novel-action"), "", "")
	f.Add("retire", "novel-action", "", "", "")
	f.Add("adopt", "", c0.Canonical(), "00", "AA==")
	f.Fuzz(func(t *testing.T, op, id, text, signer, sig string) {
		a := Amendment{Op: AmendOp(op), RuleID: id, RuleText: text, RuleHash: HashRuleText(text), Base: c0.HashHex()}
		if op == string(AmendRetire) {
			a.RuleHash = ""
		}
		if op == string(AmendAdopt) {
			a.Base = ""
		}
		forged := a
		forged.Signer, forged.Signature = signer, sig
		if _, err := c0.Apply(forged, pub); err == nil {
			t.Fatal("amendment with fuzzed signature applied")
		}
		if err := a.Sign(key); err != nil {
			t.Fatal(err)
		}
		n, err := c0.Apply(a, pub)
		if err != nil {
			if !errors.Is(err, ErrInvalidAmendment) && !errors.Is(err, ErrStaleBase) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		// The result is a valid constitution that round-trips.
		back, err := Parse("x", []byte(n.Canonical()))
		if err != nil || back.HashHex() != n.HashHex() {
			t.Fatalf("result does not round-trip: %v", err)
		}
	})
}

func mustRuleTextF(f *testing.F, c *Constitution, id string) string {
	r, ok := c.Rule(id)
	if !ok {
		f.Fatalf("no rule %s", id)
	}
	return r.Canonical()
}
