package cluster

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/mesh/meshtest"
)

// fpDurationEnv sets how long BenchmarkFalsePositives runs (a Go
// duration; default 1m; the figure in docs/BENCHMARKS.md is 10m).
const fpDurationEnv = "WEFTOS_MESH_FP_DURATION"

// lossyCluster forms a cluster of n nodes over a network on which every
// direction of every pair loses writes with probability p, TCP-style
// (retransmitted after rto, doubling): the links survive, messages arrive
// late and what follows them waits.
func lossyCluster(tb testing.TB, n int, p float64, rto time.Duration) ([]*Node, []*events) {
	tb.Helper()
	net := meshtest.NewNetwork(42)
	evs := make([]*events, n)
	for i := range evs {
		evs[i] = &events{}
	}
	nodes := benchClusterEv(tb, n, net, nil, evs)
	for i := range n {
		for j := range n {
			if i != j {
				net.TCPLoss(fmt.Sprintf("n%d", i), fmt.Sprintf("n%d", j), p, rto)
			}
		}
	}
	return nodes, evs
}

// falseDeaths counts the members some node declared dead or left (none
// was stopped: every one is a false positive), and the suspicions.
func falseDeaths(nodes []*Node, evs []*events) (dead, suspect int) {
	for i, e := range evs {
		e.mu.Lock()
		for _, r := range e.evs {
			if m, ok := r.payload.(MemberEvent); ok && (m.State == "dead" || m.State == "left") {
				dead++
			}
		}
		e.mu.Unlock()
		suspect += int(nodes[i].suspicions.Load())
	}
	return dead, suspect
}

// BenchmarkFalsePositives: a cluster of 10 nodes with the default LAN
// tuning, every link losing 10% of its writes TCP-style (RTO 200 ms,
// doubling), for WEFTOS_MESH_FP_DURATION (default 1m; the loss rate and
// the suspicion multiplier can be changed with WEFTOS_MESH_FP_LOSS and
// WEFTOS_MESH_SUSPICION_MULT). No node stops:
// every member declared dead is a false positive. Reports them (the
// target is zero) and the probes that failed into a suspicion (refuted
// before they became deaths).
func BenchmarkFalsePositives(b *testing.B) {
	d := time.Minute
	if s := os.Getenv(fpDurationEnv); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			b.Fatalf("%s: %v", fpDurationEnv, err)
		}
	}
	defer tuneFromEnv()()
	const n = 10
	for range b.N {
		b.StopTimer()
		nodes, evs := lossyCluster(b, n, fpLoss(), 200*time.Millisecond)
		b.StartTimer()
		start := time.Now()
		deadline := start.Add(d)
		for time.Now().Before(deadline) {
			time.Sleep(time.Second)
			if dead, _ := falseDeaths(nodes, evs); dead > 0 && os.Getenv("WEFTOS_MESH_FP_STOP") == "1" {
				break
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		dead, suspect := falseDeaths(nodes, evs)
		logDeaths(b, nodes, evs, start)
		b.ReportMetric(float64(dead), "false-deaths")
		b.ReportMetric(float64(suspect), "suspicions")
		b.ReportMetric(elapsed.Seconds(), "run-s")
		closeAll(nodes)
		b.StartTimer()
	}
}

func fpLoss() float64 {
	var p float64 = 0.10
	if s := os.Getenv("WEFTOS_MESH_FP_LOSS"); s != "" {
		fmt.Sscan(s, &p)
	}
	return p
}

// logDeaths logs each false death: when, who declared whom.
func logDeaths(b *testing.B, nodes []*Node, evs []*events, start time.Time) {
	idx := map[string]int{}
	for i, n := range nodes {
		idx[n.NodeID()] = i
	}
	for i, e := range evs {
		e.mu.Lock()
		for _, r := range e.evs {
			if m, ok := r.payload.(MemberEvent); ok && (m.State == "dead" || m.State == "left") {
				b.Logf("%6.1fs n%d declared n%d %s", r.at.Sub(start).Seconds(), i, idx[m.Node], m.State)
			}
		}
		e.mu.Unlock()
	}
}

// tuneFromEnv sets the benchmarks' suspicion multiplier from
// WEFTOS_MESH_SUSPICION_MULT (when set) and returns the undo.
func tuneFromEnv() func() {
	if s := os.Getenv("WEFTOS_MESH_SUSPICION_MULT"); s != "" {
		fmt.Sscan(s, &benchMembership.SuspicionMult)
	}
	return func() { benchMembership = MembershipConfig{} }
}
