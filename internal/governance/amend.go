package governance

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AmendOp is the kind of an amendment.
type AmendOp string

// Amendment operations. Adopt replaces the whole constitution (its RuleText is
// the full canonical constitution); it records the genesis constitution at
// first boot.
const (
	AmendAdd    AmendOp = "add"
	AmendModify AmendOp = "modify"
	AmendRetire AmendOp = "retire"
	AmendAdopt  AmendOp = "adopt"
)

// ActionAmend is the governed action of every amendment; the gate sees the
// operation and rule id in Context.Extra["op"] and Context.Extra["rule"].
const ActionAmend = "constitution.amend"

// Errors returned by amendment handling.
var (
	ErrInvalidAmendment = errors.New("governance: invalid amendment")
	ErrUnsigned         = errors.New("governance: amendment is not signed")
	ErrBadSignature     = errors.New("governance: amendment signature does not verify")
	ErrUntrustedSigner  = errors.New("governance: amendment signer is not trusted")
	ErrStaleBase        = errors.New("governance: amendment was made against another constitution")
)

// Amendment is a signed change to the constitution. It is recorded on the
// chain (inside an AmendmentRecord) with the rule text and its hash, so the
// chain holds the whole constitutional history.
type Amendment struct {
	Op     AmendOp `json:"op"`
	RuleID string  `json:"rule_id,omitempty"`
	// RuleText is the canonical text of the rule (add, modify), of the
	// whole constitution (adopt), or empty (retire).
	RuleText string `json:"rule_text,omitempty"`
	// RuleHash is the hex SHAKE-256/32 of RuleText (empty for retire).
	RuleHash string `json:"rule_hash,omitempty"`
	// Base is the hex hash of the constitution the amendment applies to
	// (empty for adopt).
	Base string `json:"base,omitempty"`
	// Signer is the hex Ed25519 public key; Signature the base64 signature
	// over SigningBytes.
	Signer    string `json:"signer,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// NewRuleAmendment prepares an add or modify of r against base. The rule is
// validated on its own and carried as canonical text.
func NewRuleAmendment(base *Constitution, op AmendOp, r Rule) (Amendment, error) {
	if base == nil || base.byID == nil {
		return Amendment{}, ErrNotValidated
	}
	if op != AmendAdd && op != AmendModify {
		return Amendment{}, fmt.Errorf("%w: op %q is not add or modify", ErrInvalidAmendment, op)
	}
	text := r.Canonical()
	if _, err := ParseRule("amendment", []byte(text)); err != nil {
		return Amendment{}, fmt.Errorf("%w: %w", ErrInvalidAmendment, err)
	}
	return Amendment{Op: op, RuleID: r.ID, RuleText: text, RuleHash: HashRuleText(text), Base: base.HashHex()}, nil
}

// NewRuleAmendmentFromText parses a rule document (as written by an operator
// for `weave gov amend --file rule.toml`) and prepares an add (if base has no
// rule with its id) or a modify.
func NewRuleAmendmentFromText(base *Constitution, filename string, text []byte) (Amendment, error) {
	if base == nil || base.byID == nil {
		return Amendment{}, ErrNotValidated
	}
	r, err := ParseRule(filename, text)
	if err != nil {
		return Amendment{}, fmt.Errorf("%w: %w", ErrInvalidAmendment, err)
	}
	op := AmendAdd
	if _, ok := base.byID[r.ID]; ok {
		op = AmendModify
	}
	return NewRuleAmendment(base, op, r)
}

// NewRetirement prepares the retirement of rule id from base.
func NewRetirement(base *Constitution, id string) (Amendment, error) {
	if base == nil || base.byID == nil {
		return Amendment{}, ErrNotValidated
	}
	if _, ok := base.byID[id]; !ok {
		return Amendment{}, fmt.Errorf("%w: no rule %q to retire", ErrInvalidAmendment, id)
	}
	return Amendment{Op: AmendRetire, RuleID: id, Base: base.HashHex()}, nil
}

// NewAdoption prepares the adoption of c as a whole (the genesis amendment).
func NewAdoption(c *Constitution) (Amendment, error) {
	if c == nil || c.byID == nil {
		return Amendment{}, ErrNotValidated
	}
	text := c.Canonical()
	return Amendment{Op: AmendAdopt, RuleText: text, RuleHash: HashRuleText(text)}, nil
}

const amendmentDomain = "weftos/governance/amendment/v1\n"

// SigningBytes returns the bytes the signature covers: the domain string
// "weftos/governance/amendment/v1\n" followed by op, rule id, rule hash and
// base, each terminated by '\n'. The rule hash binds the rule text.
func (a *Amendment) SigningBytes() []byte {
	var b bytes.Buffer
	b.WriteString(amendmentDomain)
	for _, f := range []string{string(a.Op), a.RuleID, a.RuleHash, a.Base} {
		b.WriteString(f)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Sign signs the amendment with the node key, setting Signer and Signature.
func (a *Amendment) Sign(key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("governance: signing key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return fmt.Errorf("governance: signing key has no Ed25519 public key")
	}
	a.Signer = hex.EncodeToString(pub)
	a.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, a.SigningBytes()))
	return nil
}

// Verify checks the signature against Signer and, when trusted is not empty,
// that Signer is one of the trusted keys.
func (a *Amendment) Verify(trusted ...ed25519.PublicKey) error {
	if a.Signer == "" || a.Signature == "" {
		return ErrUnsigned
	}
	pub, err := hex.DecodeString(a.Signer)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: signer is not a hex Ed25519 public key", ErrBadSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(a.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is not a base64 Ed25519 signature", ErrBadSignature)
	}
	if !ed25519.Verify(pub, a.SigningBytes(), sig) {
		return ErrBadSignature
	}
	if len(trusted) > 0 && !slices.ContainsFunc(trusted, func(k ed25519.PublicKey) bool { return bytes.Equal(k, pub) }) {
		return ErrUntrustedSigner
	}
	return nil
}

// Request returns the governed request for making this amendment, to be
// checked by the gate before the amendment is applied.
func (a *Amendment) Request(agent string, caps []string) Request {
	return Request{
		Action: ActionAmend, Agent: agent, Capabilities: caps,
		Context: Context{Extra: map[string]string{"op": string(a.Op), "rule": a.RuleID}},
	}
}

// Apply checks a (signature, trusted signer, hash, base) and returns the
// constitution that results from applying it to c, with the revision
// incremented (adopt takes the revision of its text). c is not modified; it
// may be nil only for an adoption. Errors wrap ErrInvalidAmendment or one of
// the signature errors; validation problems of the result are included.
func (c *Constitution) Apply(a Amendment, trusted ...ed25519.PublicKey) (*Constitution, error) {
	if err := a.Verify(trusted...); err != nil {
		return nil, err
	}
	if a.Op != AmendRetire && HashRuleText(a.RuleText) != a.RuleHash {
		return nil, fmt.Errorf("%w: rule_hash does not match rule_text", ErrInvalidAmendment)
	}
	if a.Op == AmendAdopt {
		if a.Base != "" || a.RuleID != "" {
			return nil, fmt.Errorf("%w: adopt takes neither base nor rule_id", ErrInvalidAmendment)
		}
		n, err := Parse("adoption", []byte(a.RuleText))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidAmendment, err)
		}
		return n, nil
	}
	if c == nil || c.byID == nil {
		return nil, fmt.Errorf("%w: %s needs a constitution in force", ErrInvalidAmendment, a.Op)
	}
	if a.Base != c.hashHex {
		return nil, fmt.Errorf("%w: base %.16s…, in force %.16s…", ErrStaleBase, a.Base, c.hashHex)
	}
	n := &Constitution{file: c.file, Name: c.Name, Revision: c.Revision + 1, Environments: c.Environments,
		Rules: slices.Clone(c.Rules)}
	idx, exists := c.byID[a.RuleID]
	var lines lineIndex
	switch a.Op {
	case AmendRetire:
		if !exists {
			return nil, fmt.Errorf("%w: no rule %q to retire", ErrInvalidAmendment, a.RuleID)
		}
		if a.RuleText != "" || a.RuleHash != "" {
			return nil, fmt.Errorf("%w: retire carries no rule text", ErrInvalidAmendment)
		}
		n.Rules = slices.Delete(n.Rules, idx, idx+1)
	case AmendAdd, AmendModify:
		file := "amendment:" + a.RuleID
		r, err := ParseRule(file, []byte(a.RuleText))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidAmendment, err)
		}
		if r.ID != a.RuleID {
			return nil, fmt.Errorf("%w: rule_id %q but the rule text defines %q", ErrInvalidAmendment, a.RuleID, r.ID)
		}
		if a.Op == AmendAdd {
			if exists {
				return nil, fmt.Errorf("%w: rule %q already exists (use modify)", ErrInvalidAmendment, a.RuleID)
			}
			idx = len(n.Rules)
			n.Rules = append(n.Rules, r)
		} else {
			if !exists {
				return nil, fmt.Errorf("%w: no rule %q to modify", ErrInvalidAmendment, a.RuleID)
			}
			n.Rules[idx] = r
		}
		lines = buildLineIndex(file, []byte(a.RuleText)).moveRule(0, idx)
	default:
		return nil, fmt.Errorf("%w: unknown op %q", ErrInvalidAmendment, a.Op)
	}
	if err := errorsOnly(n.finish(lines)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidAmendment, err)
	}
	return n, nil
}

// moveRule renames the paths of rule[from] to rule[to].
func (li lineIndex) moveRule(from, to int) lineIndex {
	out := lineIndex{file: li.file, m: map[string]int{}, byLine: map[int][]string{}}
	old, neu := rulePath(from), rulePath(to)
	for p, l := range li.m {
		if p == old || strings.HasPrefix(p, old+".") || strings.HasPrefix(p, old+"[") {
			p = neu + p[len(old):]
		}
		out.m[p] = l
		out.byLine[l] = append(out.byLine[l], p)
	}
	return out
}
