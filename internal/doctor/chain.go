package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/judicial"
)

// Chain reports a full verification of the audit chain: every payload
// hash, event hash and link, Merkle root and both signatures of every
// checkpoint. verify returns an error wrapping fs.ErrNotExist when the
// node has no chain yet.
func Chain(verify func(ctx context.Context) (*chain.Report, error)) Check {
	return func(ctx context.Context) []apitype.DoctorCheck {
		const name = "chain"
		rep, err := verify(ctx)
		if errors.Is(err, fs.ErrNotExist) {
			return ok(name, "no chain yet: weave boot starts one")
		}
		if err != nil {
			return fail(name, "run weave chain verify for details; restore the chain directory from a backup or an export if it is damaged",
				"cannot verify the chain: %v", err)
		}
		if !rep.OK() {
			return fail(name, "weave chain verify names the damage; restore the chain directory from a backup or an export (in dev the node boots without a damaged chain and refuses every privileged act)",
				"the chain does not verify: %v", rep.Problem)
		}
		msg := fmt.Sprintf("verified %d events and %d checkpoints (hashes, links, Merkle roots, Ed25519 and ML-DSA-65 signatures)", rep.Events, rep.Checkpoints)
		if rep.Uncovered > 0 {
			msg += fmt.Sprintf("; %d trailing events not yet under a checkpoint", rep.Uncovered)
		}
		return ok(name, "%s", msg)
	}
}

// VerifyDir verifies the chain directory dir from its files, pinned to
// keys when not nil.
func VerifyDir(dir string, keys *chain.PublicKeys) func(ctx context.Context) (*chain.Report, error) {
	return func(ctx context.Context) (*chain.Report, error) {
		if _, err := os.Stat(dir); err != nil {
			return nil, err
		}
		return chain.Verify(ctx, dir, chain.VerifyOptions{Keys: keys})
	}
}

// ConstitutionState is what the constitution check compares.
type ConstitutionState struct {
	// File is constitution.toml's path; FileHash its hash when it parses,
	// FileErr why it does not; Missing when there is no file.
	File     string
	FileHash string
	FileErr  error
	Missing  bool
	// Adopted is the hash of the constitution adopted on the chain (""
	// when nothing was adopted yet), Revision its revision.
	Adopted  string
	Revision uint64
	// PendingID names the amendment proposing the file, while it waits
	// for a human (daemon only).
	PendingID string
	// Live says the state is a running daemon's (else read offline).
	Live bool
}

// ReadFile fills the File fields from the constitution file at path.
func (s *ConstitutionState) ReadFile(path string) {
	s.File = path
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.Missing = true
		return
	}
	if err != nil {
		s.FileErr = err
		return
	}
	c, err := governance.Parse(path, data)
	if err != nil {
		s.FileErr = err
		return
	}
	s.FileHash = c.HashHex()
}

// Constitution checks that the constitution in force is the one in
// constitution.toml: the constitution in force is always the one adopted
// on the chain, and a file that differs is only a proposal.
func Constitution(state func(ctx context.Context) (ConstitutionState, error)) Check {
	return func(ctx context.Context) []apitype.DoctorCheck {
		const name = "constitution"
		s, err := state(ctx)
		if err != nil {
			return warn(name, "see the chain check", "cannot tell which constitution is adopted: %v", err)
		}
		short := func(h string) string { return h[:min(12, len(h))] }
		switch {
		case s.Adopted == "" && s.Missing:
			return ok(name, "nothing adopted yet: the first boot writes %s and adopts it", s.File)
		case s.Adopted == "" && s.FileErr != nil:
			return fail(name, "correct "+s.File+" (or delete it to start from the default)", "nothing adopted yet and %s is invalid: %v", s.File, s.FileErr)
		case s.Adopted == "":
			return ok(name, "nothing adopted yet: the next boot adopts %s (hash %s…)", s.File, short(s.FileHash))
		case s.Missing:
			return warn(name, "weave boot writes the adopted constitution back", "%s is missing; the adopted constitution (revision %d) is in force", s.File, s.Revision)
		case s.FileErr != nil:
			return warn(name, "correct "+s.File+"; weave gov rules shows the constitution in force",
				"%s is invalid, so the adopted constitution (revision %d) stays in force: %v", s.File, s.Revision, s.FileErr)
		case s.PendingID != "":
			return warn(name, "weave gov pending, then weave gov approve "+s.PendingID+" (or weave gov reject "+s.PendingID+")",
				"%s differs from the adopted constitution (revision %d) and waits for a human to approve it", s.File, s.Revision)
		case s.FileHash != s.Adopted && s.Live:
			return warn(name, "restore the adopted text (weave gov rules), or restart the daemon to propose the file again",
				"%s differs from the adopted constitution (revision %d): its proposal was rejected or lapsed, so it is not in force", s.File, s.Revision)
		case s.FileHash != s.Adopted:
			return warn(name, "approve it after the next boot (weave gov pending), or restore the adopted text",
				"%s differs from the constitution adopted on the chain (revision %d): the next boot proposes it for approval", s.File, s.Revision)
		}
		return ok(name, "%s is the constitution adopted on the chain (revision %d, hash %s…)", s.File, s.Revision, short(s.Adopted))
	}
}

// ConstitutionOffline reads the constitution state from the home's files:
// the file, and the adopted constitution replayed from the chain's
// amendments (signatures checked) by the judicial audit.
func ConstitutionOffline(chainDir, file string) func(ctx context.Context) (ConstitutionState, error) {
	return func(ctx context.Context) (ConstitutionState, error) {
		var s ConstitutionState
		s.ReadFile(file)
		if _, err := os.Stat(chainDir); errors.Is(err, fs.ErrNotExist) {
			return s, nil
		}
		r, err := chain.OpenReader(chainDir)
		if err != nil {
			return s, err
		}
		defer r.Close()
		if r.Len() == 0 {
			return s, nil
		}
		rep, err := judicial.Audit(ctx, r, governance.AuditConfig{})
		if err != nil {
			return s, err
		}
		s.Adopted, s.Revision = rep.ConstitutionHash, rep.ConstitutionRevision
		return s, nil
	}
}
