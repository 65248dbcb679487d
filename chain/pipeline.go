package chain

import (
	"runtime"
	"sync"
)

// pipeline runs the per-event intrinsic checks (payload canonicalization and
// hash, event hash) of a store verification on all cores, and applies the
// order-dependent checks sequentially, in order, on the caller's goroutine.
type pipeline struct {
	v       *verifier
	workers int
	jobs    chan *vjob
	queue   []*vjob // dispatched, oldest first
	cur     *vjob
	seg     string
	wg      sync.WaitGroup
}

type vjob struct {
	seg    string
	events []Event
	offs   []int64
	in     []intrinsic
	done   chan struct{}
}

const pipelineBatch = 512

func newPipeline(v *verifier) *pipeline {
	p := &pipeline{v: v, workers: runtime.GOMAXPROCS(0)}
	p.jobs = make(chan *vjob, 2*p.workers)
	for range p.workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			var canon []byte
			for j := range p.jobs {
				j.in = j.in[:len(j.events)]
				for i := range j.events {
					j.in[i], canon = computeIntrinsic(&j.events[i], canon)
				}
				close(j.done)
			}
		}()
	}
	return p
}

// add queues an event read at off; it may return a problem found in an
// earlier event.
func (p *pipeline) add(e Event, off int64) *Problem {
	if p.cur == nil {
		p.cur = &vjob{seg: p.seg, events: make([]Event, 0, pipelineBatch), offs: make([]int64, 0, pipelineBatch),
			in: make([]intrinsic, pipelineBatch)}
	}
	p.cur.events = append(p.cur.events, e)
	p.cur.offs = append(p.cur.offs, off)
	if len(p.cur.events) == pipelineBatch {
		p.dispatch()
		if len(p.queue) > 2*p.workers {
			return p.drainOne()
		}
	}
	return nil
}

func (p *pipeline) dispatch() {
	if p.cur == nil {
		return
	}
	p.cur.done = make(chan struct{})
	p.jobs <- p.cur
	p.queue = append(p.queue, p.cur)
	p.cur = nil
}

func (p *pipeline) drainOne() *Problem {
	j := p.queue[0]
	p.queue = p.queue[1:]
	<-j.done
	for i := range j.events {
		if prob := p.v.eventWith(&j.events[i], &j.in[i]); prob != nil {
			prob.Segment = j.seg
			prob.Offset = j.offs[i]
			return prob
		}
	}
	return nil
}

// drain applies every queued event; afterwards the verifier is up to date.
func (p *pipeline) drain() *Problem {
	p.dispatch()
	for len(p.queue) > 0 {
		if prob := p.drainOne(); prob != nil {
			return prob
		}
	}
	return nil
}

// close stops the workers after they finish what was dispatched.
func (p *pipeline) close() {
	close(p.jobs)
	p.wg.Wait()
}
