package daemon

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/doctor"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
)

// handleDoctor runs the doctor's checks against the live node.
func (d *Daemon) handleDoctor(w http.ResponseWriter, r *http.Request) {
	localapi.WriteJSON(w, apitype.DoctorReport{Daemon: true, Checks: doctor.Run(r.Context(), d.doctorChecks()...)})
}

// doctorChecks are the offline checks with the daemon's live state: its
// health, its chain (its own export, verified against the node's keys),
// the constitution in force, the providers it was configured with (and
// its environment's keys), its log file's write failures.
func (d *Daemon) doctorChecks() []doctor.Check {
	pub := chain.Keys{Ed25519: d.id.Ed25519, MLDSA65: d.id.MLDSA65}.Public()
	nerr, lastErr := d.logFile.Errors()
	return []doctor.Check{
		d.doctorDaemon,
		doctor.Config(d.home),
		doctor.Home(d.home),
		doctor.Keys(d.home, d.chain != nil && d.chain.Len() > 0),
		doctor.Chain(func(ctx context.Context) (*chain.Report, error) { return d.verifyChain(ctx, pub) }),
		doctor.Constitution(d.constitutionState),
		doctor.Providers(d.doctorProviders()),
		doctor.Disk(d.home),
		doctor.Landlock(d.cfg.Agents.ShellConfinement),
		doctor.LogFile(d.logFile.Path(), nerr, lastErr),
	}
}

func (d *Daemon) doctorDaemon(context.Context) []apitype.DoctorCheck {
	st := d.Status()
	msg := fmt.Sprintf("running: pid %d, version %s, up %s, %s", st.OSPID, st.Version, st.Uptime.Duration().Round(time.Second), st.Health.Status)
	if st.Health.Status == kernel.Healthy {
		return []apitype.DoctorCheck{{Name: "daemon", Status: apitype.DoctorOK, Message: msg}}
	}
	if len(st.Problems) > 0 {
		msg += ": " + strings.Join(st.Problems, "; ")
	} else if len(st.Health.Degraded) > 0 {
		msg += " (" + strings.Join(st.Health.Degraded, ", ") + ")"
	}
	return []apitype.DoctorCheck{{Name: "daemon", Status: apitype.DoctorWarn, Message: msg, Fix: "weave status; weave service list"}}
}

// verifyChain streams the chain's export through the verifier every
// third party uses, pinned to the node's keys. The exporting goroutine
// ends before it returns.
func (d *Daemon) verifyChain(ctx context.Context, pub chain.PublicKeys) (*chain.Report, error) {
	if d.chain == nil {
		return nil, d.chainErr()
	}
	pr, pw := io.Pipe()
	var wg sync.WaitGroup
	wg.Go(func() { pw.CloseWithError(d.chain.Export(ctx, pw, 0)) })
	rep, err := chain.VerifyExport(pr, chain.VerifyOptions{Keys: &pub})
	pr.CloseWithError(io.ErrClosedPipe) // a verifier that stopped early releases the exporter
	wg.Wait()
	return rep, err
}

func (d *Daemon) constitutionState(context.Context) (doctor.ConstitutionState, error) {
	s := doctor.ConstitutionState{Live: true}
	s.ReadFile(filepath.Join(d.home, ConstitutionName))
	if c := d.gov.engine.Constitution(); c != nil && d.chain != nil && d.chain.Len() > 0 {
		s.Adopted, s.Revision = c.HashHex(), c.Revision
	}
	s.PendingID = d.gov.pendingProposal()
	return s, nil
}
