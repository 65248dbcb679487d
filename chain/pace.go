package chain

import "time"

// lingerTarget is the batch size the committer waits to gather when many
// appenders are waiting; maxLinger bounds the wait, and the committer
// waits only if at least lingerMin more appends are expected within it.
const (
	lingerTarget = 8
	lingerMin    = 2
	maxLinger    = 2 * time.Millisecond
)

// pace decides how long a group commit may wait for more requests. It
// estimates how fast requests arrive from independent requesters: the
// requests that queued up while a commit was being written and synced,
// over the time that took (a requester waiting for its own commit cannot
// add to that count, so a lone one, however fast, shows none). Only when
// at least lingerMin would arrive within maxLinger does it wait, for
// about the time a batch of lingerTarget takes to fill (at most
// maxLinger): a lone requester, or a few, never waits, and latency is
// unchanged; many concurrent ones share several times fewer fsyncs, each
// waiting at most maxLinger more.
type pace struct {
	rate float64 // requests per second, smoothed
}

// committed records that queued requests arrived during a commit that
// took busy.
func (p *pace) committed(queued int, busy time.Duration) {
	if busy <= 0 {
		return
	}
	p.rate = 0.8*p.rate + 0.2*float64(queued)/busy.Seconds()
}

// linger returns how long to wait for more requests with have already in
// the batch.
func (p *pace) linger(have int) time.Duration {
	if have >= lingerTarget || p.rate*maxLinger.Seconds() < lingerMin {
		return 0
	}
	return min(maxLinger, time.Duration(float64(lingerTarget-have)/p.rate*float64(time.Second)))
}
