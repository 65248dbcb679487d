package chain

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/weftos/weftos/internal/durable"
)

// The committer: group commit with pipelined syncs.
//
// The single committer goroutine takes whatever appends are queued,
// encodes them and writes them (one write) at once, and hands the sync to
// one of up to Options.SyncDepth sync goroutines, so a batch arriving
// while another batch's fsync is in flight is written and its own fsync
// issued without waiting for that one to finish. A sync started after
// write w makes writes ≤ w durable; when all writes that exist are covered
// and every sync slot is busy, new batches are written and wait for the
// next free slot, whose sync then covers them all (the group commit).
//
// Acknowledgement stays in order and only after durability: syncs
// complete in any order, but they are accounted in the order they were
// started; a batch is acknowledged (its index rows written, the head
// published, its callers woken) only once a sync covering it and every
// sync started before that one have succeeded. Each sync slot has its own
// file descriptor, so a writeback error is reported to every sync that
// could have covered the failed data (Linux reports an error once per open
// file description). The first failed sync fails the log: every batch not
// yet acknowledged, and every later one, gets the error (fail closed).

// syncJob is one fsync in flight.
type syncJob struct {
	fd    *os.File
	cover uint64 // the writes (committerState.written) it makes durable
	took  time.Duration
	err   error
	done  bool
}

// pendingCommit is a written batch waiting for its sync.
type pendingCommit struct {
	gen    uint64 // the write that completed it
	batch  []*appendReq
	events int
	ncps   int
	marks  [3]uint64 // index, tree and checkpoint rows at its end
	size   uint64
	head   Hash
	ncp    uint64
	segNo  uint32
	segEnd int64
	newest *Checkpoint
}

// committer is the single writer goroutine.
func (l *Log) committer() {
	defer close(l.done)
	defer l.syncWG.Wait()
	var batch []*appendReq
	lazyArmed := false
	for {
		var cps []Checkpoint
		stopping, lazyDue := false, false
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
		case cp := <-l.signed:
			cps = append(cps, cp)
		case j := <-l.syncDone:
			l.completed(j)
			continue
		case <-l.tick:
			l.w.timerOn = false
			l.requestCheckpoint()
			continue
		case <-l.lazyTick:
			lazyArmed, lazyDue = false, true
		case <-l.stop:
			stopping = true
		}
		batch, cps = l.drain(batch, cps, stopping)
		if !stopping && !lazyDue && len(cps) == 0 && allLazy(batch) && batchLen(batch) < l.opts.MaxBatch {
			// Only lazy appends: hold them for a durable one to share
			// the fsync with, at most LazyDelay.
			if !lazyArmed {
				lazyArmed = true
				// Real time, not the injected clock: this bounds a wait
				// for I/O, not a protocol deadline.
				time.AfterFunc(l.opts.LazyDelay, func() {
					select {
					case l.lazyTick <- struct{}{}:
					default:
					}
				})
			}
			continue
		}
		l.commit(batch, cps)
		batch = nil // now owned by the pending commit
		if stopping && len(l.reqs) == 0 {
			l.waitIdle()
			l.shutdown()
			return
		}
	}
}

func allLazy(batch []*appendReq) bool {
	for _, r := range batch {
		if !r.lazy {
			return false
		}
	}
	return len(batch) > 0
}

func batchLen(batch []*appendReq) int {
	n := 0
	for _, r := range batch {
		n += len(r.entries)
	}
	return n
}

// drain collects whatever else is ready without blocking.
func (l *Log) drain(batch []*appendReq, cps []Checkpoint, all bool) ([]*appendReq, []Checkpoint) {
	n := batchLen(batch)
	for n < l.opts.MaxBatch || all {
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
			n += len(r.entries)
			continue
		case cp := <-l.signed:
			cps = append(cps, cp)
			continue
		default:
		}
		break
	}
	return batch, cps
}

// commit encodes checkpoints and events, writes them and starts a sync;
// the requests are acknowledged when a sync covering them completes
// (completed).
func (l *Log) commit(batch []*appendReq, cps []Checkpoint) {
	if l.failErr != nil {
		failReqs(batch, l.failErr)
		return
	}
	if len(batch) == 0 && len(cps) == 0 {
		return
	}
	s := l.store
	var newest *Checkpoint
	var err error
	for i := range cps {
		cp := cps[i]
		off := l.w.segSize + int64(len(l.w.buf))
		l.w.buf = appendFramed(l.w.buf, cp.appendBody)
		var ent [cpWidth]byte
		binary.LittleEndian.PutUint64(ent[0:], cp.Size)
		binary.LittleEndian.PutUint32(ent[8:], l.w.segNo)
		binary.LittleEndian.PutUint32(ent[12:], uint32(off))
		binary.LittleEndian.PutUint32(ent[16:], uint32(l.w.segSize+int64(len(l.w.buf))-off))
		s.cps.add(ent[:])
		l.w.ncp++
		newest = &cps[i]
	}
	now := l.opts.Clock.Now().UnixNano()
	emit := func(level uint, index uint64, h Hash) { s.tree.add(h[:]) }
	for _, r := range batch {
		if cap(r.events) >= len(r.entries) { // a pooled request's, kept by AppendSeq
			r.events = r.events[:len(r.entries)]
		} else {
			r.events = make([]Event, len(r.entries))
		}
		for i, p := range r.entries {
			if l.w.segSize+int64(len(l.w.buf)) >= l.opts.SegmentSize {
				if err = l.rotate(l.w.size); err != nil {
					break
				}
			}
			e := &r.events[i]
			*e = Event{Seq: l.w.size, ChainID: l.info.ChainID, Timestamp: now, PrevHash: l.w.head,
				Source: p.source, Kind: p.kind, Payload: p.payload, PayloadHash: p.payloadHash}
			e.Hash = EventHash(e)
			off := l.w.segSize + int64(len(l.w.buf))
			l.w.buf = appendFramed(l.w.buf, func(b []byte) []byte { return appendEventBody(b, e) })
			var ent [indexWidth]byte
			binary.LittleEndian.PutUint32(ent[0:], l.w.segNo)
			binary.LittleEndian.PutUint32(ent[4:], uint32(off))
			binary.LittleEndian.PutUint32(ent[8:], uint32(l.w.segSize+int64(len(l.w.buf))-off))
			s.index.add(ent[:])
			l.w.compact.appendLeaf(LeafHash(e.Hash), emit)
			l.w.size++
			l.w.head = e.Hash
		}
		if err != nil {
			break
		}
	}
	if err == nil && len(l.w.buf) >= maxDeferredWrite {
		err = l.write()
	}
	if err != nil {
		l.fail(err)
		l.failPending()
		failReqs(batch, l.failErr)
		return
	}
	l.w.pending = append(l.w.pending, &pendingCommit{
		gen: l.w.nextWrite(), batch: batch, events: batchLen(batch), ncps: len(cps),
		marks: [3]uint64{s.index.count, s.tree.count, s.cps.count},
		size:  l.w.size, head: l.w.head, ncp: l.w.ncp, segNo: l.w.segNo, segEnd: l.w.segSize + int64(len(l.w.buf)), newest: newest,
	})
	l.startSync()
}

func failReqs(batch []*appendReq, err error) {
	for _, r := range batch {
		r.events, r.err = nil, err
		r.done <- struct{}{}
	}
}

func (c *Checkpoint) appendBody(b []byte) []byte { return appendCheckpointBody(b, c) }

// write writes the pending buffer at the end of the current segment (not
// synced: see startSync) and keeps zeros ahead of it (prealloc.go).
func (l *Log) write() error {
	if len(l.w.buf) == 0 {
		return nil
	}
	if _, err := l.w.seg.WriteAt(l.w.buf, l.w.segSize); err != nil {
		return fmt.Errorf("chain: write %s: %w", segmentName(l.w.segNo), err)
	}
	end := l.w.segSize + int64(len(l.w.buf))
	l.extendZeros(end)
	l.w.segSize = end
	l.w.buf = l.w.buf[:0]
	l.w.written++
	return nil
}

// maxDeferredWrite bounds what the committer encodes without writing it
// (see startSync).
const maxDeferredWrite = 1 << 20

// nextWrite is the number of the write that makes what is encoded so far
// reach the file: the next one while the buffer holds anything.
func (w *committerState) nextWrite() uint64 {
	if len(w.buf) > 0 {
		return w.written + 1
	}
	return w.written
}

// startSync writes what is encoded and starts a sync covering every
// write so far, if a sync slot is free and one is needed. While every
// slot is busy, encoded batches wait in the buffer (up to
// maxDeferredWrite) and reach the file in one write when a slot frees:
// they could not be synced sooner, and a write per batch cost a system
// call each.
func (l *Log) startSync() {
	if l.failErr != nil || len(l.w.freeFDs) == 0 {
		return
	}
	if err := l.write(); err != nil {
		l.fail(err)
		l.failPending()
		return
	}
	if l.w.covered == l.w.written {
		return
	}
	fd := l.w.freeFDs[len(l.w.freeFDs)-1]
	l.w.freeFDs = l.w.freeFDs[:len(l.w.freeFDs)-1]
	j := &syncJob{fd: fd, cover: l.w.written}
	l.w.covered = l.w.written
	l.w.jobs = append(l.w.jobs, j)
	l.syncWG.Add(1)
	go func() {
		defer l.syncWG.Done()
		// Real time, not the injected clock: this measures I/O.
		t0 := time.Now()
		if l.opts.syncData != nil {
			j.err = l.opts.syncData(j.fd)
		} else {
			j.err = durable.DataSync(j.fd)
		}
		j.took = time.Since(t0)
		l.syncDone <- j // buffered for every slot: never blocks
	}()
}

// completed accounts a finished sync: its slot is free for the next sync
// at once, but results are taken in the order the syncs were started, and
// each successful one acknowledges the batches it covers; the first
// failure fails the log and every batch not yet acknowledged.
func (l *Log) completed(j *syncJob) {
	j.done = true
	// Its slot is free at once, even if an earlier sync is still running.
	l.w.freeFDs = append(l.w.freeFDs, j.fd)
	for len(l.w.jobs) > 0 && l.w.jobs[0].done {
		j := l.w.jobs[0]
		l.w.jobs[0] = nil
		l.w.jobs = l.w.jobs[1:]
		if o := l.opts.Observer; o != nil {
			o.Synced(j.took)
		}
		if j.err != nil {
			l.fail(fmt.Errorf("chain: fsync %s: %w", segmentName(l.w.segNo), j.err))
		}
		if l.failErr != nil {
			l.failPending()
			continue
		}
		l.acknowledge(j.cover)
	}
	l.startSync()
}

// acknowledge publishes and acknowledges the pending batches of writes ≤
// cover: their derived rows are written first (a row in index.dat or
// checkpoints.dat always describes a durable record), then the head is
// published and the callers woken. A failure to write the rows fails the
// log and every batch not yet acknowledged.
func (l *Log) acknowledge(cover uint64) {
	s := l.store
	covered := 0
	for _, p := range l.w.pending {
		if p.gen > cover {
			break
		}
		covered++
	}
	if covered == 0 {
		return
	}
	// The rows of every covered batch at once: one write per table
	// however many batches the sync covers.
	last := l.w.pending[covered-1]
	for i, t := range []*table{s.index, s.tree, s.cps} {
		if err := t.flushTo(last.marks[i]); err != nil {
			l.fail(err)
			l.failPending()
			return
		}
	}
	// Then the head they end at is published, and their callers woken.
	var newest *Checkpoint
	for _, p := range l.w.pending[:covered] {
		if p.newest != nil {
			newest = p.newest
		}
	}
	s.mu.Lock()
	s.size, s.head, s.ncp = last.size, last.head, last.ncp
	s.segNo, s.segEnd = last.segNo, last.segEnd
	if newest != nil {
		s.latest = newest
		close(s.cpWait)
		s.cpWait = make(chan struct{})
	}
	for _, p := range l.w.pending[:covered] {
		for _, r := range p.batch {
			for i := range r.events {
				s.recent.add(&r.events[i])
			}
		}
	}
	s.mu.Unlock()
	for _, p := range l.w.pending[:covered] {
		if o := l.opts.Observer; o != nil {
			o.Committed(p.events, p.ncps)
		}
		for _, r := range p.batch {
			r.done <- struct{}{}
		}
	}
	clear(l.w.pending[:covered])
	l.w.pending = l.w.pending[covered:]
	if l.w.size-l.w.requested >= l.opts.CheckpointEvery {
		l.requestCheckpoint()
	} else if l.w.size > l.w.requested && !l.w.timerOn && !l.w.stopping {
		l.w.timerOn = true
		l.stopTimer = l.opts.Clock.AfterFunc(l.opts.CheckpointInterval/2, func() {
			select {
			case l.tick <- struct{}{}:
			default:
			}
		})
	}
}

// failPending fails every written batch not yet acknowledged.
func (l *Log) failPending() {
	for _, p := range l.w.pending {
		failReqs(p.batch, l.failErr)
	}
	clear(l.w.pending)
	l.w.pending = l.w.pending[:0]
}

// waitIdle starts the syncs still needed and waits for every sync in
// flight, so every write is acknowledged (or failed).
func (l *Log) waitIdle() {
	for {
		l.startSync()
		if len(l.w.jobs) == 0 {
			if l.failErr != nil {
				l.failPending()
			}
			return
		}
		l.completed(<-l.syncDone)
	}
}

// openSyncFDs opens one descriptor per sync slot on the current segment.
func (l *Log) openSyncFDs() error {
	path := filepath.Join(l.dir, segmentName(l.w.segNo))
	for range l.opts.SyncDepth {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			l.closeSyncFDs() //nolint:errcheck // already failing
			return fmt.Errorf("chain: open segment: %w", err)
		}
		l.w.syncFDs = append(l.w.syncFDs, f)
	}
	l.w.freeFDs = append(l.w.freeFDs[:0], l.w.syncFDs...)
	return nil
}

// closeSyncFDs closes the sync descriptors; no sync may be in flight.
func (l *Log) closeSyncFDs() error {
	var first error
	for _, f := range l.w.syncFDs {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	l.w.syncFDs, l.w.freeFDs = l.w.syncFDs[:0], l.w.freeFDs[:0]
	return first
}

// rotate finishes the current segment — its last write synced, every
// sync on it finished, its unused zeros cut — and starts the next one;
// firstSeq is the sequence number of the next event.
func (l *Log) rotate(firstSeq uint64) error {
	if err := l.write(); err != nil {
		return err
	}
	l.waitIdle()
	if l.failErr != nil {
		return l.failErr
	}
	if err := l.trimSegment(); err != nil {
		return err
	}
	if err := l.closeSyncFDs(); err != nil {
		return fmt.Errorf("chain: close segment: %w", err)
	}
	if err := l.w.seg.Close(); err != nil {
		return fmt.Errorf("chain: close segment: %w", err)
	}
	l.w.segNo++
	l.w.segSize, l.w.zeroed, l.w.zeroFailed = 0, 0, false
	l.w.segHeader = false
	l.w.seg = nil
	f, err := os.OpenFile(filepath.Join(l.dir, segmentName(l.w.segNo)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("chain: create segment: %w", err)
	}
	l.w.seg = f
	if err := syncDir(l.dir); err != nil {
		return err
	}
	if err := l.openSyncFDs(); err != nil {
		return err
	}
	l.w.buf = appendFramed(l.w.buf[:0], segmentHeader{ChainID: l.info.ChainID, Number: l.w.segNo, FirstSeq: firstSeq, Origin: l.info.Origin}.appendBody)
	l.w.segHeader = true
	l.logger.Info("chain: rotated segment", "segment", segmentName(l.w.segNo), "first_seq", firstSeq)
	return nil
}
