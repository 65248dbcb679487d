package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/identity"
	"github.com/weftos/weftos/internal/mesh/meshtest"
)

// benchCluster forms a cluster of n in-process nodes on loopback and waits
// until every node sees every other alive.
func benchCluster(b *testing.B, n int, ipc ipcFunc) []*Node {
	return benchClusterOn(b, n, nil, ipc)
}

// benchClusterOn is benchCluster over the fault-injecting network net
// (node i is named "n<i>"), or over TCP when net is nil.
func benchClusterOn(b *testing.B, n int, net *meshtest.Network, ipc ipcFunc) []*Node {
	return benchClusterEv(b, n, net, func(int) ipcFunc { return ipc }, nil)
}

type ipcFunc = func(context.Context, string, []byte) ([]byte, error)

// benchMembership tunes the benchmarks' clusters (zero: the defaults).
var benchMembership MembershipConfig

// benchClusterEv is benchClusterOn with node i serving IPC with ipcFor(i)
// (when ipcFor is not nil) and reporting to evs[i] (when evs is not nil).
func benchClusterEv(b testing.TB, n int, net *meshtest.Network, ipcFor func(i int) ipcFunc, evs []*events) []*Node {
	b.Helper()
	ctx := context.Background()
	nodes := make([]*Node, n)
	for i := range nodes {
		home := b.TempDir()
		id, err := identity.LoadOrCreate(home)
		if err != nil {
			b.Fatal(err)
		}
		cfg := Config{StatePath: filepath.Join(home, "cluster.json"), Identity: id, Replicated: &memState{}, Membership: benchMembership}
		if ipcFor != nil {
			cfg.IPC = ipcFor(i)
		}
		if evs != nil {
			cfg.Events = evs[i]
		}
		if net != nil {
			cfg.Transport = net.Transport(fmt.Sprintf("n%d", i))
		}
		if nodes[i], err = Open(ctx, cfg); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := nodes[0].Init(ctx, "bench", "", "127.0.0.1:0", ""); err != nil {
		b.Fatal(err)
	}
	for _, nd := range nodes[1:] {
		tok, _, err := nodes[0].Invite(time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := nd.Join(ctx, tok, "", "127.0.0.1:0", ""); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, x := range nodes {
		for _, y := range nodes {
			for peerState(x, y.NodeID()) != "alive" {
				if time.Now().After(deadline) {
					b.Fatalf("%s never saw %s alive", x.NodeID(), y.NodeID())
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	return nodes
}

func closeAll(nodes []*Node) {
	for _, n := range nodes {
		n.Close(context.Background())
	}
}

// BenchmarkFailureDetection: a cluster of 10 nodes with the default LAN
// tuning (probe 170ms, timeout 100ms, suspicion ×3) over the
// fault-injecting transport; one node is cut off from every other (it
// answers nothing, like a crashed or frozen host). Reports how long until
// the first other node suspects it and until every other node has
// declared it dead.
func BenchmarkFailureDetection(b *testing.B) {
	defer tuneFromEnv()()
	const n = 10
	var suspect, dead []time.Duration
	for range b.N {
		b.StopTimer()
		net := meshtest.NewNetwork(1)
		nodes := benchClusterOn(b, n, net, nil)
		victim := nodes[n-1]
		others := nodes[:n-1]
		b.StartTimer()
		start := time.Now()
		for i := range others {
			net.Partition(fmt.Sprintf("n%d", i), fmt.Sprintf("n%d", n-1))
		}
		var firstSuspect time.Duration
		for {
			all := true
			for _, o := range others {
				st := peerState(o, victim.NodeID())
				if firstSuspect == 0 && (st == "suspect" || st == "dead") {
					firstSuspect = time.Since(start)
				}
				if st != "dead" {
					all = false
				}
			}
			if all {
				break
			}
			if time.Since(start) > time.Minute {
				b.Fatal("the stopped node was never declared dead everywhere")
			}
			time.Sleep(5 * time.Millisecond)
		}
		dead = append(dead, time.Since(start))
		suspect = append(suspect, firstSuspect)
		b.StopTimer()
		closeAll(nodes)
		b.StartTimer()
	}
	slices.Sort(dead)
	slices.Sort(suspect)
	b.ReportMetric(float64(suspect[len(suspect)/2].Milliseconds()), "suspect-p50-ms")
	b.ReportMetric(float64(dead[len(dead)/2].Milliseconds()), "dead-all-p50-ms")
}

// BenchmarkRequest: a cross-node request and its answer over an
// established link (the IPC handler echoes).
func BenchmarkRequest(b *testing.B) {
	nodes := benchCluster(b, 2, func(_ context.Context, _ string, body []byte) ([]byte, error) { return body, nil })
	defer closeAll(nodes)
	ctx := context.Background()
	body := []byte(`{"op":"deliver","env":{"payload":{"kind":"text","text":"ping"}}}`)
	if _, err := nodes[0].Request(ctx, nodes[1].NodeID(), body); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := nodes[0].Request(ctx, nodes[1].NodeID(), body); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkConsensusCommit: a command proposed on the leader of three
// loopback nodes, committed by a quorum and applied (the latency of a
// replicated amendment, less the daemon's own chain record).
func BenchmarkConsensusCommit(b *testing.B) {
	nodes := benchCluster(b, 3, nil)
	defer closeAll(nodes)
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for len(nodes[0].Consensus().Voters) != 3 {
		if time.Now().After(deadline) {
			b.Fatal("the three nodes never became voters")
		}
		time.Sleep(10 * time.Millisecond)
	}
	body := []byte(`"v"`)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := nodes[0].Propose(ctx, "test.set", body); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
