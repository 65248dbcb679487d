package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "cluster", Summary: "form, join and inspect an encrypted cluster of nodes (docs/MESH.md)", Subs: []*cmdline.Command{
			{Name: "init", Summary: "create a cluster with this node as its first member (recorded on the chain)", Args: "[NAME]", MaxArgs: 1,
				Setup: e.leaf(clusterInit)},
			{Name: "invite", Summary: "print a signed, expiring, single-use invite token for another node",
				Help:  "The token names the cluster and this node's address; it is redeemed here, once, before --ttl passes.",
				Setup: e.leaf(clusterInvite)},
			{Name: "join", Summary: "join the cluster an invite token names", Args: "TOKEN", MinArgs: 1, MaxArgs: 1, Setup: e.leaf(clusterJoin)},
			{Name: "leave", Summary: "leave the cluster (every member is told)", Setup: e.leaf(clusterLeave)},
			{Name: "remove", Summary: "remove a member (decided by governance; every member then refuses it)", Args: "NODE", MinArgs: 1, MaxArgs: 1,
				Setup: e.leaf(clusterRemove)},
			{Name: "peers", Summary: "the members: id, name, address, state, RTT, last seen, chain head", Setup: e.leaf(clusterPeers)},
			{Name: "status", Summary: "this node's cluster", Setup: e.leaf(clusterStatus)},
		}}
	})
}

func printClusterStatus(e *env, st apitype.ClusterStatus) error {
	if e.json {
		return cmdline.PrintJSON(e.stdout, st)
	}
	if !st.InCluster {
		fmt.Fprintf(e.stdout, "node %s is in no cluster (weave cluster init, or weave cluster join TOKEN)\n", st.NodeID)
		return nil
	}
	name := st.Name
	if name == "" {
		name = "-"
	}
	fmt.Fprintf(e.stdout, "cluster   %s (%s)\nnode      %s (%s)\naddress   %s\ngenesis   %s\nmembers   %d (%d alive), %d removed or left\n",
		st.Cluster, name, st.NodeID, st.NodeName, st.Advertise, st.Genesis, st.Members, st.Alive, st.Removed)
	if st.AllowClassical {
		fmt.Fprintln(e.stdout, "links     classical (non post-quantum) links allowed")
	}
	if cs := st.Consensus; cs != nil {
		fmt.Fprintf(e.stdout, "raft      %s, leader %s, term %d, commit %d, applied %d, %d voters\n",
			cs.State, cs.Leader, cs.Term, cs.CommitIndex, cs.Applied, len(cs.Voters))
		fmt.Fprintf(e.stdout, "constitution committed %.16s…, in force %.16s…\n", cs.Committed, cs.InForce)
		if cs.Behind != "" {
			fmt.Fprintf(e.stdout, "BEHIND    %s\n", cs.Behind)
		}
	}
	return nil
}

func clusterInit(e *env, fs *flag.FlagSet) cmdline.Action {
	nodeName := fs.String("name", "", "this node's name in the cluster (default: its node id)")
	listen := fs.String("listen", "", "mesh listen address (default: mesh.listen in weftos.toml)")
	advertise := fs.String("advertise", "", "address other nodes reach this one at (default: the address bound)")
	return func(ctx context.Context, pos []string) error {
		req := apitype.ClusterInitRequest{NodeName: *nodeName, Listen: *listen, Advertise: *advertise}
		if len(pos) > 0 {
			req.Name = pos[0]
		}
		return e.withClient(func(c *client.Client) error {
			st, err := c.ClusterInit(ctx, req)
			if err != nil {
				return err
			}
			return printClusterStatus(e, st)
		})
	}
}

func clusterInvite(e *env, fs *flag.FlagSet) cmdline.Action {
	ttl := fs.Duration("ttl", time.Hour, "how long the token may be redeemed")
	return func(ctx context.Context, _ []string) error {
		if *ttl <= 0 {
			return cmdline.Usagef("--ttl must be positive")
		}
		return e.withClient(func(c *client.Client) error {
			inv, err := c.ClusterInvite(ctx, apitype.ClusterInviteRequest{TTLMS: ttl.Milliseconds()})
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, inv)
			}
			fmt.Fprintln(e.stdout, inv.Token)
			fmt.Fprintf(e.stderr, "single use, redeemed at %s (%s) until %s: weave cluster join TOKEN\n", inv.Issuer, inv.Addrs[0],
				inv.Expires.Local().Format(time.RFC3339))
			return nil
		})
	}
}

func clusterJoin(e *env, fs *flag.FlagSet) cmdline.Action {
	nodeName := fs.String("name", "", "this node's name in the cluster (default: its node id)")
	listen := fs.String("listen", "", "mesh listen address (default: mesh.listen in weftos.toml)")
	advertise := fs.String("advertise", "", "address other nodes reach this one at (default: the address bound)")
	return func(ctx context.Context, pos []string) error {
		return e.withClient(func(c *client.Client) error {
			st, err := c.ClusterJoin(ctx, apitype.ClusterJoinRequest{Token: pos[0], NodeName: *nodeName, Listen: *listen, Advertise: *advertise})
			if err != nil {
				return err
			}
			return printClusterStatus(e, st)
		})
	}
}

func clusterLeave(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			st, err := c.ClusterLeave(ctx)
			if err != nil {
				return err
			}
			return printClusterStatus(e, st)
		})
	}
}

func clusterRemove(e *env, fs *flag.FlagSet) cmdline.Action {
	reason := fs.String("reason", "", "why (recorded on the chain and sent to every member)")
	return func(ctx context.Context, pos []string) error {
		return e.withClient(func(c *client.Client) error {
			st, err := c.ClusterRemove(ctx, apitype.ClusterRemoveRequest{Node: pos[0], Reason: *reason})
			if err != nil {
				return err
			}
			return cmdline.Reply(e.stdout, e.json, st, "%s removed from cluster %s\n", pos[0], st.Cluster)
		})
	}
}

func clusterPeers(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			ps, err := c.ClusterPeers(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return cmdline.PrintJSON(e.stdout, ps)
			}
			rows := make([][]string, len(ps))
			for i, p := range ps {
				id := p.NodeID
				if p.Self {
					id += " *"
				}
				rtt, seen, head := "-", "-", "-"
				if p.RTTMicros > 0 {
					rtt = (time.Duration(p.RTTMicros) * time.Microsecond).String()
				}
				if p.LastSeen != nil {
					seen = time.Since(*p.LastSeen).Truncate(time.Millisecond).String() + " ago"
				}
				if p.ChainSize > 0 {
					head = strconv.FormatUint(p.ChainSize, 10)
					if len(p.ChainHead) >= 12 {
						head += "/" + p.ChainHead[:12]
					}
				}
				witnessed := "-"
				switch {
				case p.Forked:
					witnessed = "FORKED: " + p.Fork
				case p.Witnessed > 0:
					witnessed = strconv.FormatUint(p.Witnessed, 10)
				}
				rows[i] = []string{id, p.Name, p.Addr, p.State, rtt, seen, head, witnessed}
			}
			return cmdline.Table(e.stdout, []string{"NODE", "NAME", "ADDRESS", "STATE", "RTT", "LAST SEEN", "CHAIN", "WITNESSED"}, rows)
		})
	}
}

func clusterStatus(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		return e.withClient(func(c *client.Client) error {
			st, err := c.ClusterStatus(ctx)
			if err != nil {
				return err
			}
			return printClusterStatus(e, st)
		})
	}
}
