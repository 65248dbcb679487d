package apphost

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apppkg"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernelauth"
)

// The publisher keys a node trusts to sign apps are the lines of
// HOME/apps/trusted_keys (apppkg.TrustFile): added and removed by the
// governed acts app.trust and app.distrust (weave app trust add|remove),
// each line naming the decision that trusted it; a line holding only a key
// — the file's format before the command, or a hand edit — is honoured
// too, and listed as trusted without a record.

func (h *Host) trustFile() string { return filepath.Join(h.home, Dir, apppkg.TrustFile) }

// readTrustFile returns the trusted keys file (nil when there is none).
func (h *Host) readTrustFile() ([]byte, error) {
	f, err := os.Open(h.trustFile())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, apppkg.MaxTrustFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > apppkg.MaxTrustFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", h.trustFile(), apppkg.MaxTrustFile)
	}
	return b, nil
}

// TrustedKeys are the publisher keys the operator trusts. A file that
// cannot be read trusts nothing (every signed app is then untrusted, which
// the constitution defers): the failure is logged.
func (h *Host) TrustedKeys() []string {
	b, err := h.readTrustFile()
	if err != nil {
		h.log.Error("reading the trusted publisher keys: no key is trusted", "err", err)
		return nil
	}
	var out []string
	for _, k := range apppkg.ParseTrustFile(b) {
		if k.Invalid == "" {
			out = append(out, k.Key)
		}
	}
	return out
}

func publisherKey(k apppkg.TrustedKey) apitype.PublisherKey {
	return apitype.PublisherKey{ID: k.ID(), Key: k.Key, Name: k.Name, Seq: k.Seq, Added: k.Added, Line: k.Line, Invalid: k.Invalid}
}

// Publishers lists the trusted keys file's entries, invalid lines too.
func (h *Host) Publishers() (apitype.PublisherList, error) {
	b, err := h.readTrustFile()
	if err != nil {
		return apitype.PublisherList{}, err
	}
	out := apitype.PublisherList{File: h.trustFile(), Keys: []apitype.PublisherKey{}}
	for _, k := range apppkg.ParseTrustFile(b) {
		out.Keys = append(out.Keys, publisherKey(k))
	}
	return out, nil
}

// Trust trusts a publisher key: the governed act app.trust (the
// default constitution defers it outside dev). Its context and outcome
// name the key, its name and where it was read from; a key already trusted,
// a name taken or a malformed key is refused, and the refusal recorded.
func (h *Host) Trust(ctx context.Context, req apitype.PublisherTrustRequest) (apitype.PublisherKey, error) {
	act := authority.Act{Action: "app.trust", Kind: governance.KindAppTrust, Source: "apps", Subject: kernelauth.Operator(),
		Context: governance.Context{Extra: map[string]string{"name": req.Name, "source": req.Source}}}
	refuse := func(cause error) (apitype.PublisherKey, error) {
		if err := h.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
			return apitype.PublisherKey{}, err
		}
		return apitype.PublisherKey{}, cause
	}
	key, err := apppkg.ParsePublicKey([]byte(req.Key))
	if err != nil {
		// Not a public key — perhaps a private one pasted by mistake:
		// the record names it only by its hash.
		h := sha256.Sum256([]byte(req.Key))
		act.Context.Extra["key"] = fmt.Sprintf("unreadable: %d bytes, sha256:%x", len(req.Key), h)
		return refuse(fmt.Errorf("%w: %w", authority.ErrInput, err))
	}
	act.Context.Extra["key"], act.Context.Extra["id"] = key, apppkg.KeyID(key)
	if req.Name != "" && !apppkg.ValidKeyName(req.Name) {
		return refuse(fmt.Errorf("%w: name %q: want 1-64 of letters, digits, _ . @ -, starting with a letter or digit", authority.ErrInput, req.Name))
	}
	if len(req.Source) > 1024 {
		return refuse(fmt.Errorf("%w: source: longer than 1024 bytes", authority.ErrInput))
	}
	conflict := func(b []byte) error {
		for _, k := range apppkg.ParseTrustFile(b) {
			switch {
			case k.Key == key:
				return fmt.Errorf("%w: %w: %s (line %d of %s)", authority.ErrConflict, apitype.ErrPublisherTrusted, describeKey(k), k.Line, h.trustFile())
			case req.Name != "" && strings.EqualFold(k.Name, req.Name):
				return fmt.Errorf("%w: %w: the name %s is taken by key %s", authority.ErrConflict, apitype.ErrPublisherTrusted, k.Name, k.ID())
			}
		}
		return nil
	}
	b, err := h.readTrustFile()
	if err != nil {
		return apitype.PublisherKey{}, err
	}
	if err := conflict(b); err != nil {
		return refuse(err)
	}
	detail := governance.AppTrustDetail{Key: key, Name: req.Name, Source: req.Source}
	pm, err := h.auth.Authorize(ctx, act)
	if err != nil {
		return apitype.PublisherKey{}, err
	}
	added := apppkg.TrustedKey{Key: key, Name: req.Name, Seq: pm.DecisionSeq(), Added: h.clock.Now().UTC().Format(time.RFC3339)}
	apply := func() error {
		h.filesMu.Lock()
		defer h.filesMu.Unlock()
		b, err := h.readTrustFile()
		if err != nil {
			return err
		}
		if err := conflict(b); err != nil {
			return err // trusted meanwhile
		}
		if err := os.MkdirAll(filepath.Join(h.home, Dir), 0o700); err != nil {
			return err
		}
		out := apppkg.AppendTrust(b, added)
		for _, k := range apppkg.ParseTrustFile(out) {
			if k.Key == key {
				added.Line = k.Line
			}
		}
		return durable.WriteFile(h.trustFile(), out)
	}
	if err := apply(); err != nil {
		return apitype.PublisherKey{}, errors.Join(err, pm.Done(ctx, detail, err))
	}
	if err := pm.Done(ctx, detail, nil); err != nil {
		return apitype.PublisherKey{}, err
	}
	return publisherKey(added), nil
}

var hexPrefixRE = regexp.MustCompile(`^[0-9a-fA-F]{8,64}$`)

// Distrust stops trusting a publisher key — the governed act
// app.distrust. id is the key's name, the key, or a prefix of it of 8 or
// more hex digits matching one key. Apps installed under the key keep
// running; later installs and upgrades signed by it are untrusted.
func (h *Host) Distrust(ctx context.Context, id string) (apitype.PublisherKey, error) {
	act := authority.Act{Action: "app.distrust", Kind: governance.KindAppDistrust, Source: "apps", Subject: kernelauth.Operator(),
		Context: governance.Context{Extra: map[string]string{"id": fmt.Sprintf("%.128s", id)}}}
	refuse := func(cause error) (apitype.PublisherKey, error) {
		if err := h.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
			return apitype.PublisherKey{}, err
		}
		return apitype.PublisherKey{}, cause
	}
	b, err := h.readTrustFile()
	if err != nil {
		return apitype.PublisherKey{}, err
	}
	lid := strings.ToLower(id)
	var match []apppkg.TrustedKey
	for _, k := range apppkg.ParseTrustFile(b) {
		if k.Invalid != "" {
			continue
		}
		if k.Key == lid || (k.Name != "" && k.Name == id) {
			match = []apppkg.TrustedKey{k}
			break
		}
		if hexPrefixRE.MatchString(id) && strings.HasPrefix(k.Key, lid) {
			match = append(match, k)
		}
	}
	switch {
	case len(match) == 0:
		return refuse(fmt.Errorf("%w: %w: %q (weave app trust list)", authority.ErrConflict, apitype.ErrUnknownPublisher, id))
	case len(match) > 1:
		return refuse(fmt.Errorf("%w: %q matches %d keys: give more of the key", authority.ErrInput, id, len(match)))
	}
	k := match[0]
	act.Context.Extra["key"], act.Context.Extra["name"] = k.Key, k.Name
	detail := governance.AppTrustDetail{Key: k.Key, Name: k.Name}
	return publisherKey(k), h.auth.Do(ctx, act, func(ctx context.Context, _ *authority.Permit) (any, error) {
		h.filesMu.Lock()
		defer h.filesMu.Unlock()
		b, err := h.readTrustFile()
		if err != nil {
			return detail, err
		}
		out, n := apppkg.RemoveTrust(b, k.Key)
		if n == 0 {
			return detail, fmt.Errorf("%w: %s was removed meanwhile", apitype.ErrUnknownPublisher, k.ID())
		}
		return detail, durable.WriteFile(h.trustFile(), out)
	})
}

func describeKey(k apppkg.TrustedKey) string {
	if k.Name != "" {
		return k.ID() + " (" + k.Name + ")"
	}
	return k.ID()
}
