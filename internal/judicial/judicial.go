// Package judicial replays an ExoChain through the governance auditor — the
// Judicial branch of WeftOS governance. Every event is decoded with the one
// record schema (governance's kind registry), so an act recorded without a
// decision, an act that ran although it was refused or denied, and a kind
// nobody registered are all findings. The daemon uses it for `weave gov
// audit` (and applies the sanctions found); anyone holding a copy of the
// chain can run it offline, trusting only the chain's own keys.
package judicial

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"iter"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/governance"
)

// Source is a readable chain: *chain.Log and *chain.Reader implement it.
type Source interface {
	Len() uint64
	Events(from, to uint64) iter.Seq2[chain.Event, error]
	Info() chain.ChainInfo
}

var (
	_ Source = (*chain.Log)(nil)
	_ Source = (*chain.Reader)(nil)
)

// Audit replays every event of src. Amendments must be signed by the
// chain's own Ed25519 key (the node key) unless cfg.Trusted says otherwise.
// It returns an error if the chain cannot be read or an event does not
// decode; problems with what was recorded are findings in the report.
func Audit(ctx context.Context, src Source, cfg governance.AuditConfig) (*governance.Report, error) {
	if len(cfg.Trusted) == 0 {
		if k := src.Info().Keys.Ed25519; len(k) == ed25519.PublicKeySize {
			cfg.Trusted = []ed25519.PublicKey{k}
		}
	}
	if cfg.Catalog == nil {
		cfg.Catalog = governance.DefaultCatalog()
	}
	a, err := governance.NewAuditor(cfg)
	if err != nil {
		return nil, err
	}
	var readErr error
	records := func(yield func(governance.AuditInput) bool) {
		for ev, err := range src.Events(0, src.Len()) {
			if err != nil {
				readErr = fmt.Errorf("judicial: reading the chain: %w", err)
				return
			}
			in, err := governance.DecodeAuditInput(ev.Seq, ev.Kind, ev.Payload)
			if err != nil {
				readErr = fmt.Errorf("judicial: %w", err)
				return
			}
			if !yield(in) {
				return
			}
		}
	}
	rep, err := a.Audit(ctx, records)
	if err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, readErr
	}
	return rep, nil
}
