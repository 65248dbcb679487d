// Package groupcommit paces group commits: how long a committer that
// fsyncs many requesters' records at once (the sessions' commit log) may
// wait to gather a fuller batch. The chain log does not wait: it keeps
// several fsyncs in flight instead (chain/commit.go), which batches as
// well when appenders queue and adds no wait when they do not.
package groupcommit

import "time"

// LingerTarget is the batch size a committer waits to gather when many
// appenders are waiting; MaxLinger bounds the wait, and a committer
// waits only if at least LingerMin more appends are expected within it.
const (
	LingerTarget = 8
	LingerMin    = 2
	MaxLinger    = 2 * time.Millisecond
)

// Pace decides how long a group commit may wait for more requests. It
// estimates how fast requests arrive from independent requesters: the
// requests that queued up while a commit was being written and synced,
// over the time that took (a requester waiting for its own commit cannot
// add to that count, so a lone one, however fast, shows none). Only when
// at least LingerMin would arrive within MaxLinger does it wait, for
// about the time a batch of LingerTarget takes to fill (at most
// MaxLinger): a lone requester, or a few, never waits, and latency is
// unchanged; many concurrent ones share several times fewer fsyncs, each
// waiting at most MaxLinger more.
type Pace struct {
	rate float64 // requests per second, smoothed
}

// Committed records that queued requests arrived during a commit that
// took busy.
func (p *Pace) Committed(queued int, busy time.Duration) {
	if busy <= 0 {
		return
	}
	p.rate = 0.8*p.rate + 0.2*float64(queued)/busy.Seconds()
}

// Linger returns how long to wait for more requests with have already in
// the batch.
func (p *Pace) Linger(have int) time.Duration {
	if have >= LingerTarget || p.rate*MaxLinger.Seconds() < LingerMin {
		return 0
	}
	return min(MaxLinger, time.Duration(float64(LingerTarget-have)/p.rate*float64(time.Second)))
}
