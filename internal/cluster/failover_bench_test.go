package cluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/mesh/meshtest"
)

// BenchmarkFailover: the time from a node's death to the first answer
// from a surviving replica, for an idempotent request in flight to the
// node when it dies. A cluster of 10 nodes over the fault-injecting
// transport with the default LAN tuning (probe 170 ms, timeout 100 ms,
// suspicion ×2, gossip 50 ms); n0 asks n1 (whose handler holds the
// request), then n2; n1 dies:
//
//   - crash: its process stops (its links close, as the kernel resets a
//     dead process's connections): the request fails on the closed link.
//   - silent: it is cut off from every other node (a frozen host, a cut
//     cable: nothing closes): the request fails when membership declares
//     it dead.
//
// One trial per iteration, on a fresh cluster; reports p50 and p99.
func BenchmarkFailover(b *testing.B) {
	for _, mode := range []string{"crash", "silent"} {
		b.Run(mode, func(b *testing.B) {
			const n = 10
			var lat []time.Duration
			for range b.N {
				b.StopTimer()
				lat = append(lat, failoverTrial(b, n, mode == "silent"))
				b.StartTimer()
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
			b.ReportMetric(float64(lat[(len(lat)*99)/100].Milliseconds()), "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
		})
	}
}

func failoverTrial(b *testing.B, n int, silent bool) time.Duration {
	net := meshtest.NewNetwork(3)
	started := make(chan struct{}, 1)
	nodes := benchClusterEv(b, n, net, func(i int) ipcFunc {
		return func(ctx context.Context, _ string, body []byte) ([]byte, error) {
			if i == 1 {
				started <- struct{}{}
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return body, nil
		}
	}, nil)
	defer closeAll(nodes)
	type result struct {
		node string
		err  error
		at   time.Time
	}
	res := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		node, _, err := nodes[0].RequestAny(ctx, []string{nodes[1].NodeID(), nodes[2].NodeID()}, Call{Body: []byte(`"x"`), Idempotent: true})
		res <- result{node, err, time.Now()}
	}()
	<-started
	start := time.Now()
	if silent {
		for i := range n {
			if i != 1 {
				net.Partition(fmt.Sprintf("n%d", i), "n1")
			}
		}
	} else {
		nodes[1].Close(context.Background())
	}
	r := <-res
	if r.err != nil || r.node != nodes[2].NodeID() {
		b.Fatalf("the request failed over to %s: %v", r.node, r.err)
	}
	return r.at.Sub(start)
}
