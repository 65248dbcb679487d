package xref

import (
	"strconv"
	"testing"
)

// BenchmarkApply indexes batches shaped like the chain indexer's: per
// event a new event node and action node, links to a few long-lived
// nodes (process, session) and to the action. One op = one event.
func BenchmarkApply(b *testing.B) {
	x := New()
	procs := make([]Node, 1000)
	for i := range procs {
		id, _ := EntityFields("process", Uint("pid", uint64(i)))
		procs[i] = Node{ID: id, Type: "process", Key: "pid:" + strconv.Itoa(i)}
	}
	b.ReportAllocs()
	var batch Batch
	for i := range b.N {
		ev, _ := EntityFields("chain.event", Uint("seq", uint64(i)))
		act, _ := EntityFields("action", Uint("n", uint64(i/2)))
		p := procs[i%len(procs)]
		batch.Nodes = append(batch.Nodes, Node{ID: ev, Type: "chain.event", Key: "seq:" + strconv.Itoa(i)},
			Node{ID: act, Type: "action", Key: "action:" + strconv.Itoa(i/2)}, p)
		batch.Links = append(batch.Links, Link{From: ev, To: act, Rel: "decides", Seq: uint64(i)},
			Link{From: ev, To: p.ID, Rel: "by_process", Seq: uint64(i)}, Link{From: p.ID, To: act, Rel: "acted", Seq: uint64(i)})
		if len(batch.Nodes) >= 3*32 {
			batch.Through = uint64(i + 1)
			if err := x.Apply(batch); err != nil {
				b.Fatal(err)
			}
			batch = Batch{}
		}
	}
}
