//go:build !nomesh

package daemon

import (
	"context"
	"fmt"
	"net/http"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/cluster"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/remoteipc"
	"github.com/weftos/weftos/internal/witness"
)

// newRemote builds cross-node IPC (internal/remoteipc) on the node's
// cluster, kernel, replicated service registry and governed spawn path.
func (d *Daemon) newRemote() *remoteipc.Remote {
	var src witness.Source
	if d.chain != nil {
		src = d.chain
	}
	return remoteipc.New(remoteipc.Options{Cluster: meshLink{d}, Kernel: d.kernel, Registry: replicaRegistry{d}, Spawner: remoteSpawner{d},
		Chain: src, DefaultCaps: d.DefaultCaps(), Codes: outerCode, Now: d.opts.Clock.Now, Logger: d.log.With("layer", "remoteipc")})
}

// meshLink is the cluster as remote IPC sees it: d.cluster, which is
// opened after the remote (the cluster is handed its Serve).
type meshLink struct{ d *Daemon }

// replicaRegistry is the replicated service registry, consulted only in
// consensus.
type replicaRegistry struct{ d *Daemon }

// remoteSpawner spawns what another member asked for through the kernel's
// gate, with that node as the subject (gateAdapter reads the origin).
type remoteSpawner struct{ d *Daemon }

// What remote IPC is handed.
var (
	_ remoteipc.Cluster  = meshLink{}
	_ remoteipc.Kernel   = (*kernel.Kernel)(nil)
	_ remoteipc.Registry = replicaRegistry{}
	_ remoteipc.Spawner  = remoteSpawner{}
)

func (l meshLink) RequestWith(ctx context.Context, node string, body []byte, opts cluster.RequestOptions) ([]byte, error) {
	return l.d.cluster.RequestWith(ctx, node, body, opts)
}

func (l meshLink) RequestAny(ctx context.Context, nodes []string, call cluster.Call) (string, []byte, error) {
	return l.d.cluster.RequestAny(ctx, nodes, call)
}

func (l meshLink) Peers() ([]cluster.PeerInfo, error) { return l.d.cluster.Peers() }

func (r replicaRegistry) Version() uint64 { return r.d.rep.Version() }

func (r replicaRegistry) Serving(service string) []string {
	if !r.d.inConsensus() {
		return nil
	}
	return r.d.rep.Serving(service)
}

func (s remoteSpawner) SpawnFor(ctx context.Context, node string, spec kernel.SpawnSpec) (kernel.PID, error) {
	return s.d.kernel.Spawn(context.WithValue(ctx, remoteOriginKey{}, node), spec)
}

// handleClusterSpawn spawns a process on another member (weave agent spawn
// --node): the target node governs it.
func (d *Daemon) handleClusterSpawn(w http.ResponseWriter, r *http.Request) {
	var req apitype.ClusterSpawnRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	if req.Node == d.id.NodeID {
		d.fail(w, fmt.Errorf("%w: spawn on this node without --node", kernel.ErrInvalid))
		return
	}
	pid, err := d.remote.Spawn(r.Context(), req.Node, req.Spawn)
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, apitype.ClusterSpawnResponse{Node: req.Node, PID: pid})
}

// handleClusterProcesses lists every member's processes (weave ps
// --cluster); a member that cannot be asked is listed with the reason.
func (d *Daemon) handleClusterProcesses(w http.ResponseWriter, r *http.Request) {
	out, err := d.remote.Processes(r.Context(), r.URL.Query().Get("exited") == "1")
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, out)
}
