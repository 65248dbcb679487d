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
// suspicion ×3, gossip 50 ms); n0 asks n1 (whose handler holds the
// request), then n2; n1 dies:
//
//   - crash: its process stops (its links close, as the kernel resets a
//     dead process's connections): the request fails on the closed link.
//   - silent: it is cut off from every other node (a frozen host, a cut
//     cable: nothing closes): the request fails when membership declares
//     it dead.
//
// One trial per iteration, on a fresh cluster; reports p50 and p99 and,
// for a silent node, n0's own detection time and what failover adds to it.
func BenchmarkFailover(b *testing.B) {
	for _, mode := range []string{"crash", "silent"} {
		b.Run(mode, func(b *testing.B) {
			const n = 10
			var lat, det, after []time.Duration
			for range b.N {
				b.StopTimer()
				total, seen, ok := failoverTrial(b, n, mode == "silent")
				lat = append(lat, total)
				if ok {
					det, after = append(det, seen), append(after, total-seen)
				}
				b.StartTimer()
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50-ms")
			b.ReportMetric(float64(lat[(len(lat)*99)/100].Milliseconds()), "p99-ms")
			b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max-ms")
			if mode == "silent" {
				if len(after) == 0 {
					b.Fatal("n0 never declared n1 dead")
				}
				// The target is failover ≤ detection + 100 ms: the part of
				// each trial after n0's own detection is what failover adds.
				slices.Sort(det)
				slices.Sort(after)
				b.ReportMetric(float64(det[len(det)/2].Milliseconds()), "detected-p50-ms")
				b.ReportMetric(float64(after[len(after)/2].Milliseconds()), "after-detection-p50-ms")
				b.ReportMetric(float64(after[len(after)-1].Milliseconds()), "after-detection-max-ms")
			}
		})
	}
}

// failoverTrial returns the time from n1's death to n0's answer from n2
// and, when n0's membership declared n1 dead before that answer (a silent
// node), the time from the death to that declaration.
func failoverTrial(b *testing.B, n int, silent bool) (total, detected time.Duration, ok bool) {
	net := meshtest.NewNetwork(3)
	started := make(chan struct{}, 1)
	evs := make([]*events, n)
	for i := range evs {
		evs[i] = new(events)
	}
	nodes := benchClusterEv(b, n, net, func(i int) ipcFunc {
		return func(ctx context.Context, _ string, body []byte) ([]byte, error) {
			if i == 1 {
				started <- struct{}{}
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return body, nil
		}
	}, evs)
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
	victim := nodes[1].NodeID()
	evs[0].find(func(e recorded) bool {
		m, isMember := e.payload.(MemberEvent)
		if isMember && m.Node == victim && m.State == "dead" && !e.at.After(r.at) {
			detected, ok = e.at.Sub(start), true
		}
		return ok
	})
	return r.at.Sub(start), detected, ok
}
