//go:build !nomesh

package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/cluster"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/remoteipc"
	"github.com/weftos/weftos/internal/replica"
	"github.com/weftos/weftos/internal/witness"
)

// meshParts is the cluster as the daemon wires it: the logic lives in
// internal/cluster, internal/mesh, internal/remoteipc and internal/witness.
type meshParts struct {
	cluster   *cluster.Node     // the node's cluster membership (internal/cluster)
	remote    *remoteipc.Remote // cross-node IPC: the kernel's Remote (internal/remoteipc)
	rep       *replica.State    // the cluster's replicated state (Raft's state machine: internal/replica)
	witnesses *witness.Book     // what this node witnessed of its peers' chains
}

// openMesh opens the cluster and makes it the kernel's Remote.
func (d *Daemon) openMesh(ctx context.Context) error {
	d.remote = d.newRemote()
	d.rep = newReplicated(d)
	if err := d.openCluster(ctx); err != nil {
		return err
	}
	d.rep.Attach(d.cluster)
	d.kernel.SetRemote(d.remote)
	return nil
}

// closeMesh leaves the mesh (the membership stays in HOME/cluster.json).
func (d *Daemon) closeMesh(ctx context.Context) error {
	if d.cluster == nil {
		return nil
	}
	if err := d.cluster.Close(ctx); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}

// meshProblems is what makes the node less than healthy in its cluster.
func (d *Daemon) meshProblems() []string {
	var out []string
	for _, node := range d.forkedPeers() {
		out = append(out, "witness: the chain of member "+node+" was forked or rewritten (weave chain witnesses)")
	}
	if d.cluster != nil && d.rep != nil {
		if why := d.behind(context.Background()); why != "" {
			out = append(out, "cluster: this node refuses to decide: "+why)
		}
	}
	return out
}

// openCluster loads the node's cluster state (HOME/cluster.json); a node
// in a cluster starts its mesh listener and membership.
func (d *Daemon) openCluster(ctx context.Context) error {
	mc := d.cfg.Mesh
	var err error
	d.cluster, err = cluster.Open(ctx, cluster.Config{
		StatePath: filepath.Join(d.home, homedir.Cluster), Identity: d.id, AllowClassical: mc.AllowClassical,
		Membership: cluster.MembershipConfig{ProbeInterval: mc.ProbeInterval.Duration, ProbeTimeout: mc.ProbeTimeout.Duration,
			SuspicionMult: mc.SuspicionMult, GossipInterval: mc.GossipInterval.Duration},
		Admitter: clusterAdmitter{d}, Events: clusterEvents{d}, Head: d.chainHead, IPC: d.remote.Serve,
		Logger: d.log.With("layer", "cluster"), Now: d.opts.Clock.Now,
		Replicated: d.rep, RaftDir: filepath.Join(d.home, homedir.Raft),
	})
	if err != nil {
		return fmt.Errorf("daemon: cluster: %w", err)
	}
	if d.witnesses, err = witness.Open(filepath.Join(d.home, homedir.Witness)); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.goBackground(d.witnessLoop)
	return nil
}

// chainHead is what this node tells its peers of its chain.
func (d *Daemon) chainHead() (uint64, string) {
	if d.chain == nil {
		return 0, ""
	}
	n, h := d.chain.Head()
	if d.chain.Len() == 0 {
		return 0, ""
	}
	return n + 1, h.String()
}

// clusterEvents records what the cluster observes (membership changes,
// refusals, classical links) through the chain's recorder.
type clusterEvents struct{ d *Daemon }

func (e clusterEvents) Event(kind string, payload any) {
	if e.d.recorder == nil {
		e.d.log.Warn("a cluster event cannot be recorded: the chain is not open", "kind", kind)
		return
	}
	if err := e.d.recorder.Record(context.Background(), "cluster", kind, payload); err != nil {
		e.d.log.Error("recording a cluster event failed", "kind", kind, "err", err)
	}
}

// clusterAdmitter governs admissions remote nodes ask of this node: the
// joiner is the subject, cluster.admit the act.
type clusterAdmitter struct{ d *Daemon }

func (a clusterAdmitter) act(req cluster.AdmitRequest) authority.Act {
	return authority.Act{Action: "cluster.admit", Kind: governance.KindClusterAdmit, Source: "cluster",
		Subject: authority.Subject{Agent: "node:" + req.Node, Process: "mesh"},
		Context: governance.Context{Extra: map[string]string{"node": req.Node, "name": req.Name, "addr": req.Addr, "token_id": req.TokenID.String()}}}
}

func (a clusterAdmitter) Admit(ctx context.Context, req cluster.AdmitRequest, admit func(context.Context) (cluster.Admission, error)) (cluster.Admission, error) {
	var adm cluster.Admission
	err := a.d.auth.Do(ctx, a.act(req), func(ctx context.Context, _ *authority.Permit) (any, error) {
		var err error
		adm, err = admit(ctx)
		return governance.ClusterDetail{Cluster: adm.Cluster.String(), Node: req.Node, Name: req.Name, Addr: req.Addr,
			TokenID: req.TokenID.String(), Issuer: a.d.id.NodeID}, err
	})
	return adm, err
}

func (a clusterAdmitter) Refused(ctx context.Context, req cluster.AdmitRequest, reason error) {
	if err := a.d.auth.Refuse(ctx, a.act(req), fmt.Errorf("%w: %w", authority.ErrInput, reason)); errors.Is(err, authority.ErrLedger) {
		a.d.log.Warn("a refused join could not be recorded", "node", req.Node, "err", err)
	}
}

func (d *Daemon) clusterRoutes() []localapi.Route {
	return []localapi.Route{
		{Pattern: "GET /v1/cluster", Handler: d.handleClusterStatus},
		{Pattern: "POST /v1/cluster/init", Handler: d.handleClusterInit},
		{Pattern: "POST /v1/cluster/invites", Handler: d.handleClusterInvite},
		{Pattern: "POST /v1/cluster/join", Handler: d.handleClusterJoin},
		{Pattern: "POST /v1/cluster/leave", Handler: d.handleClusterLeave},
		{Pattern: "POST /v1/cluster/remove", Handler: d.handleClusterRemove},
		{Pattern: "GET /v1/cluster/peers", Handler: d.handleClusterPeers},
		{Pattern: "POST /v1/cluster/spawn", Handler: d.handleClusterSpawn},
		{Pattern: "GET /v1/cluster/processes", Handler: d.handleClusterProcesses},
	}
}

func (d *Daemon) clusterStatus() apitype.ClusterStatus {
	st := d.cluster.Status()
	out := apitype.ClusterStatus{InCluster: st.InCluster, NodeID: st.NodeID, AllowClassical: st.Classical}
	if st.InCluster {
		out.Cluster, out.Name, out.NodeName, out.Advertise, out.Genesis = st.Cluster.String(), st.Name, st.SelfName, st.Advertise, st.Genesis
		out.Members, out.Alive, out.Removed = st.Members, st.Alive, st.Removed
		joined := st.JoinedAt
		out.JoinedAt = &joined
		if cs := d.cluster.Consensus(); cs.Running {
			out.Consensus = &apitype.ClusterConsensus{State: cs.State, Leader: cs.Leader, Term: cs.Term, CommitIndex: cs.CommitIndex,
				Applied: cs.AppliedIdx, Voters: cs.Voters, Committed: d.rep.Committed(), InForce: d.gov.engine.Constitution().HashHex(),
				Behind: d.behind(context.Background())}
		}
	}
	return out
}

func (d *Daemon) handleClusterStatus(w http.ResponseWriter, r *http.Request) {
	localapi.WriteJSON(w, d.clusterStatus())
}

// clusterAct runs an operator's cluster act through the pipeline.
func (d *Daemon) clusterAct(ctx context.Context, action, kind string, extra map[string]string, run func(ctx context.Context) (governance.ClusterDetail, error)) error {
	act := authority.Act{Action: action, Kind: kind, Source: "operator", Subject: operator(), Context: governance.Context{Extra: extra}}
	return d.auth.Do(ctx, act, func(ctx context.Context, _ *authority.Permit) (any, error) {
		detail, err := run(ctx)
		return detail, err
	})
}

func (d *Daemon) meshAddrs(listen, advertise string) (string, string) {
	if listen == "" {
		listen = d.cfg.Mesh.Listen
	}
	if advertise == "" {
		advertise = d.cfg.Mesh.Advertise
	}
	return listen, advertise
}

func (d *Daemon) handleClusterInit(w http.ResponseWriter, r *http.Request) {
	var req apitype.ClusterInitRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	listen, advertise := d.meshAddrs(req.Listen, req.Advertise)
	err := d.clusterAct(r.Context(), "cluster.init", governance.KindClusterInit, map[string]string{"name": req.Name, "listen": listen},
		func(ctx context.Context) (governance.ClusterDetail, error) {
			g, err := d.cluster.Init(ctx, req.Name, req.NodeName, listen, advertise)
			if err != nil {
				return governance.ClusterDetail{Node: d.id.NodeID, Name: req.Name}, err
			}
			gj, _ := json.Marshal(g)
			detail := governance.ClusterDetail{Cluster: g.Cluster.String(), Node: d.id.NodeID, Name: req.Name, Addr: d.cluster.Status().Advertise,
				Genesis: gj}
			// This node's constitution becomes the cluster's: its
			// adoption is the replicated log's first entry.
			return detail, d.rep.ProposeAdoption(ctx)
		})
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, d.clusterStatus())
}

func (d *Daemon) handleClusterInvite(w http.ResponseWriter, r *http.Request) {
	var req apitype.ClusterInviteRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	ttl := time.Duration(req.TTLMS) * time.Millisecond
	if req.TTLMS == 0 {
		ttl = time.Hour
	}
	var out apitype.ClusterInvite
	err := d.clusterAct(r.Context(), "cluster.invite", governance.KindClusterInvite, map[string]string{"ttl": ttl.String()},
		func(ctx context.Context) (governance.ClusterDetail, error) {
			tok, inv, err := d.cluster.Invite(ttl)
			if err != nil {
				return governance.ClusterDetail{Node: d.id.NodeID}, err
			}
			out = apitype.ClusterInvite{Token: tok, TokenID: inv.ID.String(), Cluster: inv.Cluster.String(), Issuer: inv.IssuerID(),
				Expires: inv.Expires, Addrs: inv.Addrs}
			return governance.ClusterDetail{Cluster: out.Cluster, Node: d.id.NodeID, TokenID: out.TokenID, Expires: inv.Expires.Format(time.RFC3339)}, nil
		})
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, out)
}

func (d *Daemon) handleClusterJoin(w http.ResponseWriter, r *http.Request) {
	var req apitype.ClusterJoinRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	listen, advertise := d.meshAddrs(req.Listen, req.Advertise)
	extra := map[string]string{"listen": listen}
	inv, perr := cluster.ParseInvite(req.Token)
	if perr == nil {
		extra["cluster"], extra["issuer"], extra["token_id"] = inv.Cluster.String(), inv.IssuerID(), inv.ID.String()
	}
	act := authority.Act{Action: "cluster.join", Kind: governance.KindClusterJoin, Source: "operator", Subject: operator(),
		Context: governance.Context{Extra: extra}}
	if perr != nil {
		err := fmt.Errorf("%w: %w", authority.ErrInput, perr)
		if rerr := d.auth.Refuse(r.Context(), act, err); errors.Is(rerr, authority.ErrLedger) {
			err = rerr
		}
		d.fail(w, err)
		return
	}
	err := d.auth.Do(r.Context(), act, func(ctx context.Context, _ *authority.Permit) (any, error) {
		d.rep.Reset() // a node in no cluster has no replicated state
		_, err := d.cluster.Join(ctx, req.Token, req.NodeName, listen, advertise)
		return governance.ClusterDetail{Cluster: inv.Cluster.String(), Node: d.id.NodeID, Name: req.NodeName, TokenID: inv.ID.String(),
			Issuer: inv.IssuerID()}, err
	})
	if err == nil {
		// The node decides nothing until the cluster's constitution has
		// reached it: the answer waits for that (the status says so if it
		// has not within joinCatchUp).
		d.rep.AwaitConsensus(r.Context(), joinCatchUp)
	}
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, d.clusterStatus())
}

func (d *Daemon) handleClusterLeave(w http.ResponseWriter, r *http.Request) {
	if err := r.Body.Close(); err != nil {
		d.fail(w, err)
		return
	}
	st := d.cluster.Status()
	err := d.clusterAct(r.Context(), "cluster.leave", governance.KindClusterLeave, map[string]string{"cluster": st.Cluster.String()},
		func(ctx context.Context) (governance.ClusterDetail, error) {
			_, err := d.cluster.Leave(ctx)
			d.rep.Reset()
			return governance.ClusterDetail{Cluster: st.Cluster.String(), Node: d.id.NodeID}, err
		})
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, d.clusterStatus())
}

func (d *Daemon) handleClusterRemove(w http.ResponseWriter, r *http.Request) {
	var req apitype.ClusterRemoveRequest
	if !localapi.DecodeBody(w, r, &req) {
		return
	}
	st := d.cluster.Status()
	err := d.clusterAct(r.Context(), "cluster.remove", governance.KindClusterRemove, map[string]string{"cluster": st.Cluster.String(), "node": req.Node},
		func(ctx context.Context) (governance.ClusterDetail, error) {
			_, err := d.cluster.Remove(ctx, req.Node, req.Reason)
			return governance.ClusterDetail{Cluster: st.Cluster.String(), Node: req.Node, Reason: req.Reason}, err
		})
	if err != nil {
		d.fail(w, err)
		return
	}
	localapi.WriteJSON(w, d.clusterStatus())
}

func (d *Daemon) handleClusterPeers(w http.ResponseWriter, r *http.Request) {
	ps, err := d.cluster.Peers()
	if err != nil {
		d.fail(w, err)
		return
	}
	out := make([]apitype.ClusterPeer, len(ps))
	for i, p := range ps {
		out[i] = apitype.ClusterPeer{NodeID: p.NodeID, Name: p.Name, Addr: p.Addr, State: p.State, Self: p.Self, RTTMicros: p.RTT.Microseconds(),
			ChainSize: p.ChainSize, ChainHead: p.ChainRoot}
		if rec, ok := d.witnesses.Get(p.NodeID); ok {
			out[i].Witnessed, out[i].Forked, out[i].Fork = rec.Checkpoint.Size, rec.Forked, rec.Reason
		}
		if !p.LastSeen.IsZero() {
			t := p.LastSeen
			out[i].LastSeen = &t
		}
	}
	localapi.WriteJSON(w, out)
}

// clusterCode maps the cluster layer's errors to API codes.
func clusterCode(err error) string {
	switch {
	case errors.Is(err, cluster.ErrNotInCluster):
		return apitype.CodeNotInCluster
	case errors.Is(err, cluster.ErrInCluster):
		return apitype.CodeInCluster
	case errors.Is(err, cluster.ErrTokenExpired):
		return apitype.CodeTokenExpired
	case errors.Is(err, cluster.ErrTokenUsed):
		return apitype.CodeTokenUsed
	case errors.Is(err, cluster.ErrBadToken):
		return apitype.CodeBadToken
	case errors.Is(err, cluster.ErrRemoved):
		return apitype.CodeNodeRemoved
	case errors.Is(err, cluster.ErrUnknownNode):
		return apitype.CodeUnknownNode
	case errors.Is(err, cluster.ErrNotMember):
		return apitype.CodeNotMember
	case errors.Is(err, cluster.ErrJoinRefused):
		return apitype.CodeJoinRefused
	case errors.Is(err, cluster.ErrNoLeader):
		return apitype.CodeNoQuorum
	case errors.Is(err, cluster.ErrNotSent):
		return apitype.CodeNotSent
	case errors.Is(err, cluster.ErrNoReply):
		return apitype.CodeNoReply
	case errors.Is(err, cluster.ErrUnreachable):
		return apitype.CodeUnreachable
	}
	return ""
}
