//go:build nomesh

package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/layers"
	"github.com/weftos/weftos/internal/localapi"
)

// meshParts is empty: the cluster is compiled out (nomesh). The kernel
// has no Remote, so a message to another node is mesh_not_enabled.
type meshParts struct{}

// openMesh refuses to boot a node that is in a cluster: without the mesh
// it could neither reach its peers nor decide with the committed
// constitution.
func (d *Daemon) openMesh(context.Context) error {
	p := filepath.Join(d.home, homedir.Cluster)
	if _, err := os.Stat(p); err == nil {
		return fmt.Errorf("daemon: this node is in a cluster (%s): %w", p, layers.NotBuilt(layers.Mesh))
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("daemon: %w", err)
	}
	return nil
}

func (d *Daemon) closeMesh(context.Context) error { return nil }

func (d *Daemon) meshProblems() []string { return nil }

// replicateServices has no cluster to replicate services to.
func (d *Daemon) replicateServices(context.Context) {}

// consensusGate is the governance gate itself: a node in no cluster
// decides with the constitution in force.
type consensusGate struct {
	d     *Daemon
	inner authority.Gate
}

func (g consensusGate) Check(ctx context.Context, req *governance.Request) governance.Decision {
	return g.inner.Check(ctx, req)
}

// inConsensus is false: amendments are put in force on this node alone.
func (d *Daemon) inConsensus() bool { return false }

// commitAmendment is only called in consensus, which a node without the
// mesh never is.
func (d *Daemon) commitAmendment(context.Context, string, governance.Amendment) (*governance.Constitution, error) {
	return nil, layers.NotBuilt(layers.Mesh)
}

func clusterCode(error) string { return "" }

func (d *Daemon) clusterRoutes() []localapi.Route { return d.notBuiltRoutes(layers.Mesh) }

// handleChainWitnesses: a node without the mesh witnesses no one.
func (d *Daemon) handleChainWitnesses(w http.ResponseWriter, _ *http.Request) {
	d.fail(w, layers.NotBuilt(layers.Mesh))
}
