package daemon

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
)

// The publisher keys a node trusts to sign apps are the lines of
// HOME/apps/trusted_keys (apppkg.TrustFile): added and removed by the
// governed acts app.trust and app.distrust (weave app trust add|remove),
// each line naming the decision that trusted it; a line holding only a key
// — the file's format before the command, or a hand edit — is honoured
// too, and listed as trusted without a record.

func (d *Daemon) trustFile() string { return filepath.Join(d.home, AppsDir, apppkg.TrustFile) }

// readTrustFile returns the trusted keys file (nil when there is none).
func (d *Daemon) readTrustFile() ([]byte, error) {
	f, err := os.Open(d.trustFile())
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
		return nil, fmt.Errorf("%s is larger than %d bytes", d.trustFile(), apppkg.MaxTrustFile)
	}
	return b, nil
}

// trustedKeys are the publisher keys the operator trusts. A file that
// cannot be read trusts nothing (every signed app is then untrusted, which
// the constitution defers): the failure is logged.
func (d *Daemon) trustedKeys() []string {
	b, err := d.readTrustFile()
	if err != nil {
		d.log.Error("reading the trusted publisher keys: no key is trusted", "err", err)
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

// publishers lists the trusted keys file's entries, invalid lines too.
func (d *Daemon) publishers() (apitype.PublisherList, error) {
	b, err := d.readTrustFile()
	if err != nil {
		return apitype.PublisherList{}, err
	}
	out := apitype.PublisherList{File: d.trustFile(), Keys: []apitype.PublisherKey{}}
	for _, k := range apppkg.ParseTrustFile(b) {
		out.Keys = append(out.Keys, publisherKey(k))
	}
	return out, nil
}

// trustPublisher trusts a publisher key: the governed act app.trust (the
// default constitution defers it outside dev). Its context and outcome
// name the key, its name and where it was read from; a key already trusted,
// a name taken or a malformed key is refused, and the refusal recorded.
func (d *Daemon) trustPublisher(ctx context.Context, req apitype.PublisherTrustRequest) (apitype.PublisherKey, error) {
	act := authority.Act{Action: "app.trust", Kind: governance.KindAppTrust, Source: "apps", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"name": req.Name, "source": req.Source}}}
	refuse := func(cause error) (apitype.PublisherKey, error) {
		if err := d.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
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
				return fmt.Errorf("%w: %w: %s (line %d of %s)", authority.ErrConflict, apitype.ErrPublisherTrusted, describeKey(k), k.Line, d.trustFile())
			case req.Name != "" && strings.EqualFold(k.Name, req.Name):
				return fmt.Errorf("%w: %w: the name %s is taken by key %s", authority.ErrConflict, apitype.ErrPublisherTrusted, k.Name, k.ID())
			}
		}
		return nil
	}
	b, err := d.readTrustFile()
	if err != nil {
		return apitype.PublisherKey{}, err
	}
	if err := conflict(b); err != nil {
		return refuse(err)
	}
	detail := governance.AppTrustDetail{Key: key, Name: req.Name, Source: req.Source}
	pm, err := d.auth.Authorize(ctx, act)
	if err != nil {
		return apitype.PublisherKey{}, err
	}
	added := apppkg.TrustedKey{Key: key, Name: req.Name, Seq: pm.DecisionSeq(), Added: d.opts.Clock.Now().UTC().Format(time.RFC3339)}
	apply := func() error {
		appFilesMu.Lock()
		defer appFilesMu.Unlock()
		b, err := d.readTrustFile()
		if err != nil {
			return err
		}
		if err := conflict(b); err != nil {
			return err // trusted meanwhile
		}
		if err := os.MkdirAll(filepath.Join(d.home, AppsDir), 0o700); err != nil {
			return err
		}
		out := apppkg.AppendTrust(b, added)
		for _, k := range apppkg.ParseTrustFile(out) {
			if k.Key == key {
				added.Line = k.Line
			}
		}
		return durable.WriteFile(d.trustFile(), out)
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

// distrustPublisher stops trusting a publisher key — the governed act
// app.distrust. id is the key's name, the key, or a prefix of it of 8 or
// more hex digits matching one key. Apps installed under the key keep
// running; later installs and upgrades signed by it are untrusted.
func (d *Daemon) distrustPublisher(ctx context.Context, id string) (apitype.PublisherKey, error) {
	act := authority.Act{Action: "app.distrust", Kind: governance.KindAppDistrust, Source: "apps", Subject: operator(),
		Context: governance.Context{Extra: map[string]string{"id": fmt.Sprintf("%.128s", id)}}}
	refuse := func(cause error) (apitype.PublisherKey, error) {
		if err := d.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
			return apitype.PublisherKey{}, err
		}
		return apitype.PublisherKey{}, cause
	}
	b, err := d.readTrustFile()
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
	return publisherKey(k), d.auth.Do(ctx, act, func(ctx context.Context, _ *authority.Permit) (any, error) {
		appFilesMu.Lock()
		defer appFilesMu.Unlock()
		b, err := d.readTrustFile()
		if err != nil {
			return detail, err
		}
		out, n := apppkg.RemoveTrust(b, k.Key)
		if n == 0 {
			return detail, fmt.Errorf("%w: %s was removed meanwhile", apitype.ErrUnknownPublisher, k.ID())
		}
		return detail, durable.WriteFile(d.trustFile(), out)
	})
}

func describeKey(k apppkg.TrustedKey) string {
	if k.Name != "" {
		return k.ID() + " (" + k.Name + ")"
	}
	return k.ID()
}
