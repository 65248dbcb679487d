package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/durable"
)

// Token scopes: what a bearer token may do.
const (
	ScopeChat   = "chat"   // POST /v1/chat/completions
	ScopeModels = "models" // GET /v1/models
	ScopeWS     = "ws"     // the WebSocket channel
	ScopeMCP    = "mcp"    // the MCP endpoint (/mcp)
)

// Scopes lists every scope; a token created without --scope gets them all.
var Scopes = []string{ScopeChat, ScopeModels, ScopeWS, ScopeMCP}

// Token errors.
var (
	// ErrBadToken: no valid, unrevoked token matches the credential.
	ErrBadToken = errors.New("invalid or revoked gateway token")
	// ErrUnknownToken: no token has that id.
	ErrUnknownToken = errors.New("no gateway token has that id")
	// ErrBadScope: a scope that does not exist.
	ErrBadScope = errors.New("unknown gateway token scope")
)

// tokenPrefix starts every token, so a leaked one is recognisable (and
// secret scanners can find it).
const tokenPrefix = "wgw_"

// Token is a bearer token as stored: its secret only as a SHA-256 hash.
type Token struct {
	ID      string     `json:"id"`
	Hash    string     `json:"hash"`
	Agents  []string   `json:"agents"`
	Scopes  []string   `json:"scopes"`
	Label   string     `json:"label,omitempty"`
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
}

// Allows reports whether the token grants scope.
func (t Token) Allows(scope string) bool { return slices.Contains(t.Scopes, scope) }

// Reaches reports whether the token may talk to agent.
func (t Token) Reaches(agent string) bool { return slices.Contains(t.Agents, agent) }

// Tokens is the gateway's token store: one 0600 JSON file, written
// atomically, holding hashes only. It is safe for concurrent use.
type Tokens struct {
	path string
	mu   sync.RWMutex
	list []Token
}

// OpenTokens loads the store at path (none yet: empty).
func OpenTokens(path string) (*Tokens, error) {
	s := &Tokens{path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gateway tokens: %w", err)
	}
	if err := json.Unmarshal(b, &s.list); err != nil {
		return nil, fmt.Errorf("gateway tokens: %s is damaged: %w", path, err)
	}
	return s, nil
}

// CheckScopes validates scopes; empty means all.
func CheckScopes(scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return slices.Clone(Scopes), nil
	}
	for _, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return nil, fmt.Errorf("%w %q (known: %s)", ErrBadScope, s, strings.Join(Scopes, ", "))
		}
	}
	out := slices.Clone(scopes)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// NewTokenID returns a fresh token id.
func NewTokenID() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Create stores a new token with id for agents and scopes and returns its
// secret: the only time the secret exists outside the client.
func (s *Tokens) Create(id string, agents, scopes []string, label string, now time.Time) (string, Token, error) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	secret := tokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(b[:])
	t := Token{ID: id, Hash: hashSecret(secret), Agents: slices.Clone(agents), Scopes: slices.Clone(scopes), Label: label, Created: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.ContainsFunc(s.list, func(o Token) bool { return o.ID == id }) {
		return "", Token{}, fmt.Errorf("gateway tokens: id %s exists", id)
	}
	next := append(slices.Clone(s.list), t)
	if err := s.save(next); err != nil {
		return "", Token{}, err
	}
	s.list = next
	return secret, t, nil
}

// Get returns the token with id.
func (s *Tokens) Get(id string) (Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := slices.IndexFunc(s.list, func(t Token) bool { return t.ID == id })
	if i < 0 {
		return Token{}, fmt.Errorf("%w: %q", ErrUnknownToken, id)
	}
	return s.list[i], nil
}

// Revoke marks the token revoked: it authenticates nothing from now on.
func (s *Tokens) Revoke(id string, now time.Time) (Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.list, func(t Token) bool { return t.ID == id })
	if i < 0 {
		return Token{}, fmt.Errorf("%w: %q", ErrUnknownToken, id)
	}
	next := slices.Clone(s.list)
	if next[i].Revoked == nil {
		at := now
		next[i].Revoked = &at
	}
	if err := s.save(next); err != nil {
		return Token{}, err
	}
	s.list = next
	return next[i], nil
}

// List returns every token (hashes included; callers drop them).
func (s *Tokens) List() []Token {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.list)
}

// Authenticate returns the unrevoked token whose secret is secret. The
// comparison of hashes is constant-time.
func (s *Tokens) Authenticate(secret string) (Token, error) {
	id, ok := ParseTokenID(secret)
	if !ok {
		return Token{}, ErrBadToken
	}
	h := hashSecret(secret)
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, t := range s.list {
		if t.ID == id && subtle.ConstantTimeCompare([]byte(t.Hash), []byte(h)) == 1 && t.Revoked == nil {
			return t, nil
		}
	}
	return Token{}, ErrBadToken
}

// ParseTokenID returns the id part of a token secret
// ("wgw_<10 hex>_<43 base64url>").
func ParseTokenID(secret string) (string, bool) {
	rest, ok := strings.CutPrefix(secret, tokenPrefix)
	if !ok {
		return "", false
	}
	id, key, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 10 || len(key) != 43 {
		return "", false
	}
	if _, err := hex.DecodeString(id); err != nil || strings.ToLower(id) != id {
		return "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(key); err != nil {
		return "", false
	}
	return id, true
}

func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func (s *Tokens) save(list []Token) error {
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(s.path, b)
}
