package client

import (
	"context"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
)

// ClusterStatus returns the node's view of its cluster.
func (c *Client) ClusterStatus(ctx context.Context) (apitype.ClusterStatus, error) {
	var out apitype.ClusterStatus
	return out, c.do(ctx, http.MethodGet, "/v1/cluster", nil, &out)
}

// ClusterInit creates a cluster with this node as its genesis member
// (governed as cluster.init).
func (c *Client) ClusterInit(ctx context.Context, req apitype.ClusterInitRequest) (apitype.ClusterStatus, error) {
	var out apitype.ClusterStatus
	return out, c.do(ctx, http.MethodPost, "/v1/cluster/init", req, &out)
}

// ClusterInvite issues a single-use invite (governed as cluster.invite).
func (c *Client) ClusterInvite(ctx context.Context, req apitype.ClusterInviteRequest) (apitype.ClusterInvite, error) {
	var out apitype.ClusterInvite
	return out, c.do(ctx, http.MethodPost, "/v1/cluster/invites", req, &out)
}

// ClusterJoin redeems an invite and joins its cluster (governed as
// cluster.join).
func (c *Client) ClusterJoin(ctx context.Context, req apitype.ClusterJoinRequest) (apitype.ClusterStatus, error) {
	var out apitype.ClusterStatus
	return out, c.do(ctx, http.MethodPost, "/v1/cluster/join", req, &out)
}

// ClusterLeave leaves the cluster (governed as cluster.leave).
func (c *Client) ClusterLeave(ctx context.Context) (apitype.ClusterStatus, error) {
	var out apitype.ClusterStatus
	return out, c.do(ctx, http.MethodPost, "/v1/cluster/leave", nil, &out)
}

// ClusterRemove removes a member (governed as cluster.remove).
func (c *Client) ClusterRemove(ctx context.Context, req apitype.ClusterRemoveRequest) (apitype.ClusterStatus, error) {
	var out apitype.ClusterStatus
	return out, c.do(ctx, http.MethodPost, "/v1/cluster/remove", req, &out)
}

// ClusterPeers lists the members as this node sees them.
func (c *Client) ClusterPeers(ctx context.Context) ([]apitype.ClusterPeer, error) {
	var out []apitype.ClusterPeer
	return out, c.do(ctx, http.MethodGet, "/v1/cluster/peers", nil, &out)
}

// ClusterProcesses lists the processes of every member of the cluster
// (weave ps --cluster); exited adds recently exited ones.
func (c *Client) ClusterProcesses(ctx context.Context, exited bool) ([]apitype.ClusterNodeProcesses, error) {
	var out []apitype.ClusterNodeProcesses
	path := "/v1/cluster/processes"
	if exited {
		path += "?exited=1"
	}
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// ClusterSpawn spawns a process on another member; that node governs it.
func (c *Client) ClusterSpawn(ctx context.Context, req apitype.ClusterSpawnRequest) (apitype.ClusterSpawnResponse, error) {
	var out apitype.ClusterSpawnResponse
	return out, c.do(ctx, http.MethodPost, "/v1/cluster/spawn", req, &out)
}
