package channels

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/weftos/weftos/internal/durable"
)

// Pairing rules.
const (
	// CodeLen is the length of a pairing code.
	CodeLen = 8
	// CodeTTL is how long a pairing code stays valid.
	CodeTTL = time.Hour
	// MaxPending is how many unexpired codes a channel holds at most:
	// strangers beyond it get no code until one is resolved or expires.
	MaxPending = 3
)

// codeAlphabet has no look-alikes (0/O, 1/I/L).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// Pairing errors.
var (
	// ErrUnknownCode: no pending request has that code (or it expired).
	ErrUnknownCode = errors.New("no pending pairing request has that code")
	// ErrTooManyPending: the channel already holds MaxPending codes.
	ErrTooManyPending = errors.New("too many pairing requests are pending")
)

// PendingPair is a stranger's request to talk to a channel's agents.
type PendingPair struct {
	Code    string    `json:"code"`
	Channel string    `json:"channel"`
	Sender  string    `json:"sender"`
	Name    string    `json:"name,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// Paired is an approved sender.
type Paired struct {
	Channel  string    `json:"channel"`
	Sender   string    `json:"sender"`
	Name     string    `json:"name,omitempty"`
	Approved time.Time `json:"approved"`
	Code     string    `json:"code"`
}

type pairingFile struct {
	Approved []Paired      `json:"approved"`
	Pending  []PendingPair `json:"pending"`
}

// Pairing is the allowlist of senders per channel and the pending pairing
// requests, kept in one 0600 JSON file written atomically. Deny by
// default: a sender is allowed only once approved; an empty list allows
// nobody. It is safe for concurrent use.
type Pairing struct {
	path string
	mu   sync.Mutex
	f    pairingFile
}

// OpenPairing loads the pairing file at path (none yet: empty).
func OpenPairing(path string) (*Pairing, error) {
	p := &Pairing{path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pairing: %w", err)
	}
	if err := json.Unmarshal(b, &p.f); err != nil {
		return nil, fmt.Errorf("pairing: %s is damaged: %w", path, err)
	}
	return p, nil
}

// Allowed reports whether sender is approved on channel.
func (p *Pairing) Allowed(channel, sender string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.ContainsFunc(p.f.Approved, func(a Paired) bool { return a.Channel == channel && a.Sender == sender })
}

// Request returns the pending code of sender on channel, creating one (fresh
// true) when it has none. ErrTooManyPending when the channel holds
// MaxPending unexpired codes already.
func (p *Pairing) Request(channel, sender, name string, now time.Time) (PendingPair, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	n := 0
	for _, q := range p.f.Pending {
		if q.Channel == channel && q.Sender == sender {
			return q, false, nil
		}
		if q.Channel == channel {
			n++
		}
	}
	if n >= MaxPending {
		return PendingPair{}, false, ErrTooManyPending
	}
	q := PendingPair{Code: newCode(), Channel: channel, Sender: sender, Name: oneLine(name), Created: now, Expires: now.Add(CodeTTL)}
	p.f.Pending = append(p.f.Pending, q)
	if err := p.save(); err != nil {
		p.f.Pending = p.f.Pending[:len(p.f.Pending)-1]
		return PendingPair{}, false, err
	}
	return q, true, nil
}

// Lookup returns the unexpired pending request with code.
func (p *Pairing) Lookup(code string, now time.Time) (PendingPair, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	for _, q := range p.f.Pending {
		if q.Code == code {
			return q, nil
		}
	}
	return PendingPair{}, fmt.Errorf("%w: %q", ErrUnknownCode, code)
}

// Resolve approves (the sender is added to the channel's allowlist) or
// denies the pending request with code, removing it.
func (p *Pairing) Resolve(code string, approve bool, now time.Time) (PendingPair, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	i := slices.IndexFunc(p.f.Pending, func(q PendingPair) bool { return q.Code == code })
	if i < 0 {
		return PendingPair{}, fmt.Errorf("%w: %q", ErrUnknownCode, code)
	}
	old := p.f
	q := p.f.Pending[i]
	p.f.Pending = slices.Delete(slices.Clone(p.f.Pending), i, i+1)
	if approve {
		p.f.Approved = append(slices.Clone(p.f.Approved), Paired{Channel: q.Channel, Sender: q.Sender, Name: q.Name, Approved: now, Code: q.Code})
	}
	if err := p.save(); err != nil {
		p.f = old
		return PendingPair{}, err
	}
	return q, nil
}

// List returns the pending requests (unexpired) and the approved senders.
func (p *Pairing) List(now time.Time) ([]PendingPair, []Paired) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	pend, appr := slices.Clone(p.f.Pending), slices.Clone(p.f.Approved)
	sort.Slice(pend, func(i, j int) bool { return pend[i].Created.Before(pend[j].Created) })
	return pend, appr
}

// expire drops expired requests (in memory; the file follows at the next
// save).
func (p *Pairing) expire(now time.Time) {
	p.f.Pending = slices.DeleteFunc(p.f.Pending, func(q PendingPair) bool { return !now.Before(q.Expires) })
}

func (p *Pairing) save() error {
	b, err := json.MarshalIndent(p.f, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(p.path, b)
}

func newCode() string {
	var b [CodeLen]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		// 256 % 31 leaves a bias below 1%; codes live an hour and are
		// rate-limited, which is what makes them unguessable in practice.
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b[:])
}

// ValidCode reports whether s has the shape of a pairing code.
func ValidCode(s string) bool {
	if len(s) != CodeLen {
		return false
	}
	for i := range len(s) {
		if !containsByte(codeAlphabet, s[i]) {
			return false
		}
	}
	return true
}

func containsByte(s string, c byte) bool {
	for i := range len(s) {
		if s[i] == c {
			return true
		}
	}
	return false
}
