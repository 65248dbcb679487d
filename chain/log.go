package chain

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftos/weftos/internal/groupcommit"
)

// Defaults for Options.
const (
	DefaultSegmentSize        = 64 << 20
	MaxSegmentSize            = 1 << 30
	DefaultCheckpointInterval = 100 * time.Millisecond
	DefaultCheckpointEvery    = 1000
	DefaultMaxBatch           = 8192
	DefaultLazyDelay          = 20 * time.Millisecond
	stateInterval             = time.Second
)

// Options configure a Log.
type Options struct {
	ChainID uint32
	Origin  string // node id; written into every checkpoint
	Keys    Keys
	// SegmentSize is the size at which segment files rotate.
	SegmentSize int64
	// CheckpointInterval bounds the time from an append to the durable
	// checkpoint covering it: signing starts at most half of it after the
	// first uncovered append, leaving the rest for signing and fsync.
	CheckpointInterval time.Duration
	// CheckpointEvery starts a checkpoint once that many events are uncovered.
	CheckpointEvery uint64
	// MaxBatch caps the events written by one group commit.
	MaxBatch int
	// LazyDelay bounds how long a lazy append (AppendBatchLazy) waits for
	// a durable append to share its fsync with (default 20 ms).
	LazyDelay time.Duration
	Clock     Clock
	Logger    *slog.Logger
	// Observer, if set, is told about every group commit and segment
	// fsync (for metrics).
	Observer Observer
	// DeterministicSignatures uses deterministic ML-DSA-65 signing (for test
	// vectors); by default signing is hedged (randomized).
	DeterministicSignatures bool
}

func (o *Options) setDefaults() error {
	if err := checkOrigin(o.Origin); err != nil {
		return err
	}
	if err := o.Keys.valid(); err != nil {
		return err
	}
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.SegmentSize > MaxSegmentSize {
		return fmt.Errorf("chain: segment size %d above %d", o.SegmentSize, MaxSegmentSize)
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.LazyDelay <= 0 {
		o.LazyDelay = DefaultLazyDelay
	}
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Log is the writable chain: appends are group-committed (one write and one
// fsync per batch) and acknowledged only once durable; checkpoints are signed
// in the background. All methods are safe for concurrent use.
type Log struct {
	*store
	opts Options
	lock *os.File

	closeMu sync.RWMutex
	closing bool
	reqs    chan *appendReq
	stop    chan struct{}
	done    chan struct{}

	// signer hand-off
	signMu    sync.Mutex
	signWant  *Checkpoint // unsigned head to sign next
	signKick  chan struct{}
	signed    chan Checkpoint
	signStop  chan struct{}
	signDone  chan struct{}
	lastState time.Time

	tick      chan struct{}
	stopTimer func() bool
	lazyTick  chan struct{}

	// committer-owned state
	w        committerState
	failErr  error
	failOnce sync.Once
	failed   atomic.Pointer[error] // failErr, for readers outside the committer
	// durableSent counts durable append requests handed to the committer,
	// which counts those it has taken (w.durableTaken): the difference
	// after a commit is how many queued up during it (see groupcommit.Pace).
	durableSent atomic.Uint64
}

type committerState struct {
	seg       *os.File
	segNo     uint32
	segSize   int64
	segHeader bool
	// zeroed is the end of the zeros written after the data
	// (prealloc.go); zeroFailed stops retrying for this segment.
	zeroed     int64
	zeroFailed bool
	compact    compactRange
	buf        []byte
	requested  uint64 // tree size of the last checkpoint requested
	timerOn    bool
	stopping   bool
	pace       groupcommit.Pace
	// durableTaken counts durable requests taken into batches.
	durableTaken uint64
}

type appendReq struct {
	entries []prepared
	events  []Event
	err     error
	done    chan struct{}
	lazy    bool
}

var reqPool = sync.Pool{New: func() any { return &appendReq{done: make(chan struct{}, 1)} }}

// Open opens or creates the chain in dir, recovering from a crash: a torn
// tail of the last segment is truncated and logged; any other corruption
// fails with ErrCorrupt. keys.json is written on first open and must match
// opts on later opens.
func Open(ctx context.Context, dir string, opts Options) (*Log, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("chain: create %s: %w", dir, err)
	}
	lock, err := lockDir(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, err
	}
	info := ChainInfo{Origin: opts.Origin, ChainID: opts.ChainID, Keys: opts.Keys.Public()}
	if err := ensureKeys(dir, info); err != nil {
		lock.Close()
		return nil, err
	}
	s, rec, err := openStore(dir, info, true, opts.Logger)
	if err != nil {
		lock.Close()
		return nil, err
	}
	l := &Log{
		store: s, opts: opts, lock: lock,
		reqs:     make(chan *appendReq, 1024),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		signKick: make(chan struct{}, 1),
		signed:   make(chan Checkpoint, 1),
		signStop: make(chan struct{}),
		signDone: make(chan struct{}),
		tick:     make(chan struct{}, 1),
		lazyTick: make(chan struct{}, 1),
	}
	l.w.compact = rec.compact
	l.w.segNo, l.w.segSize, l.w.segHeader = s.segNo, rec.segSize, rec.segHeader
	if l.latestSize() > 0 {
		l.w.requested = l.latestSize()
	}
	if err := l.openSegment(); err != nil {
		s.closeFiles() //nolint:errcheck // already failing
		lock.Close()
		return nil, err
	}
	l.lastState = opts.Clock.Now()
	go l.signer()
	go l.committer()
	opts.Logger.Info("chain: opened", "dir", dir, "events", s.size, "checkpoints", s.ncp)
	return l, nil
}

func ensureKeys(dir string, info ChainInfo) error {
	existing, err := ReadChainInfo(dir)
	if errors.Is(err, os.ErrNotExist) {
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return fmt.Errorf("chain: encode keys: %w", err)
		}
		return writeFileAtomic(dir, keysFile, append(b, '\n'))
	}
	if err != nil {
		return err
	}
	if existing.Origin != info.Origin || existing.ChainID != info.ChainID || !existing.Keys.Equal(info.Keys) {
		return fmt.Errorf("%w: %s holds origin %q chain %d", ErrKeyMismatch, keysFile, existing.Origin, existing.ChainID)
	}
	return nil
}

func (l *Log) latestSize() uint64 {
	if cp, ok := l.LatestCheckpoint(); ok {
		return cp.Size
	}
	return 0
}

// openSegment opens the last segment for appending (creating segment 0).
func (l *Log) openSegment() error {
	path := filepath.Join(l.dir, segmentName(l.w.segNo))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("chain: open segment: %w", err)
	}
	if err := f.Truncate(l.w.segSize); err != nil {
		f.Close()
		return fmt.Errorf("chain: open segment: %w", err)
	}
	l.w.seg, l.w.zeroed, l.w.zeroFailed = f, l.w.segSize, false
	if !l.w.segHeader {
		l.w.buf = appendFramed(l.w.buf[:0], segmentHeader{ChainID: l.info.ChainID, Number: l.w.segNo, FirstSeq: l.size, Origin: l.info.Origin}.appendBody)
		l.w.segHeader = true
		return syncDir(l.dir)
	}
	return nil
}

// Append records one event and returns it once it is durable.
func (l *Log) Append(ctx context.Context, source, kind string, payload any) (Event, error) {
	evs, err := l.AppendBatch(ctx, []Entry{{Source: source, Kind: kind, Payload: payload}})
	if err != nil {
		return Event{}, err
	}
	return evs[0], nil
}

// AppendBatch records entries as consecutive events and returns them once
// they are durable. If ctx ends first the events may still be recorded.
func (l *Log) AppendBatch(ctx context.Context, entries []Entry) ([]Event, error) {
	return l.appendBatch(ctx, entries, false)
}

// AppendBatchLazy is AppendBatch for records nobody waits on (observations
// recorded off the caller's path): the batch waits up to
// Options.LazyDelay for a durable append to share its write and fsync
// with, instead of costing one of its own. It still returns only once the
// events are durable.
func (l *Log) AppendBatchLazy(ctx context.Context, entries []Entry) ([]Event, error) {
	return l.appendBatch(ctx, entries, true)
}

func (l *Log) appendBatch(ctx context.Context, entries []Entry, lazy bool) ([]Event, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	if len(entries) > l.opts.MaxBatch {
		return nil, fmt.Errorf("%w: batch of %d entries above MaxBatch %d", ErrInvalidEvent, len(entries), l.opts.MaxBatch)
	}
	req := reqPool.Get().(*appendReq)
	req.entries = req.entries[:0]
	req.lazy = lazy
	for _, e := range entries {
		p, err := prepare(e)
		if err != nil {
			reqPool.Put(req)
			return nil, err
		}
		req.entries = append(req.entries, p)
	}
	l.closeMu.RLock()
	if l.closing {
		l.closeMu.RUnlock()
		reqPool.Put(req)
		return nil, ErrClosed
	}
	select {
	case l.reqs <- req:
		if !lazy {
			l.durableSent.Add(1)
		}
		l.closeMu.RUnlock()
	case <-ctx.Done():
		l.closeMu.RUnlock()
		reqPool.Put(req)
		return nil, ctx.Err()
	}
	select {
	case <-req.done:
	case <-ctx.Done():
		return nil, ctx.Err() // req is abandoned to the committer; not reused
	}
	evs, err := req.events, req.err
	req.events, req.err = nil, nil
	reqPool.Put(req)
	return evs, err
}

// WaitCovered blocks until a durable checkpoint covers seq and returns it.
func (l *Log) WaitCovered(ctx context.Context, seq uint64) (Checkpoint, error) {
	return l.store.waitCovered(ctx, seq)
}

// Close stops accepting appends, commits what is queued, writes a final
// checkpoint covering every event, syncs the index and stops goroutines.
func (l *Log) Close(ctx context.Context) error {
	l.closeMu.Lock()
	if l.closing {
		l.closeMu.Unlock()
		return ErrClosed
	}
	l.closing = true
	l.closeMu.Unlock()
	close(l.stop)
	var err error
	select {
	case <-l.done:
	case <-ctx.Done():
		err = ctx.Err()
		<-l.done // the committer never blocks indefinitely; wait so no goroutine leaks
	}
	if l.failErr != nil {
		err = errors.Join(err, l.failErr)
	}
	err = errors.Join(err, l.closeFiles(), l.lock.Close())
	if l.w.seg != nil {
		if l.failErr == nil {
			err = errors.Join(err, l.trimSegment())
		}
		err = errors.Join(err, l.w.seg.Close())
	}
	return err
}

func (l *Log) fail(err error) {
	l.failOnce.Do(func() {
		l.failErr = fmt.Errorf("chain: log failed, no further appends: %w", err)
		l.failed.Store(&l.failErr)
		l.logger.Error("chain: write failed; log is read-only until reopened", "err", err)
	})
}

// committer is the single writer goroutine.
func (l *Log) committer() {
	defer close(l.done)
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
		if !stopping && len(cps) == 0 {
			batch = l.linger(batch)
		}
		for _, r := range batch {
			if !r.lazy {
				l.w.durableTaken++
			}
		}
		start := time.Now()
		l.commit(batch, cps)
		// Lazy appends (observations) do not count: they never wait for
		// a commit, so they say nothing about how many appenders wait.
		queued := int(int64(l.durableSent.Load() - l.w.durableTaken))
		l.w.pace.Committed(max(queued, 0), time.Since(start))
		clear(batch)
		batch = batch[:0]
		if stopping && len(l.reqs) == 0 {
			l.shutdown()
			return
		}
	}
}

// linger gathers more requests for a batch when many appenders are
// waiting (see groupcommit.Pace): up to groupcommit.LingerTarget of them, for at most groupcommit.MaxLinger.
func (l *Log) linger(batch []*appendReq) []*appendReq {
	wait := l.w.pace.Linger(len(batch))
	if wait <= 0 || batchLen(batch) >= l.opts.MaxBatch {
		return batch
	}
	// Real time, not the injected clock: this bounds a wait for I/O.
	t := time.NewTimer(wait)
	defer t.Stop()
	n := batchLen(batch)
	for len(batch) < groupcommit.LingerTarget && n < l.opts.MaxBatch {
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
			n += len(r.entries)
		case <-t.C:
			return batch
		case <-l.stop:
			return batch
		}
	}
	return batch
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
	n := 0
	for _, r := range batch {
		n += len(r.entries)
	}
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

// commit writes checkpoints and events with one write and fsync per segment,
// then publishes them and acknowledges the requests.
func (l *Log) commit(batch []*appendReq, cps []Checkpoint) {
	if l.failErr != nil {
		for _, r := range batch {
			r.err = l.failErr
			r.done <- struct{}{}
		}
		return
	}
	if len(batch) == 0 && len(cps) == 0 {
		return
	}
	s := l.store
	size, head := s.size, s.head
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
		newest = &cps[i]
	}
	now := l.opts.Clock.Now().UnixNano()
	emit := func(level uint, index uint64, h Hash) { s.tree.add(h[:]) }
	for _, r := range batch {
		r.events = make([]Event, len(r.entries))
		for i, p := range r.entries {
			if l.w.segSize+int64(len(l.w.buf)) >= l.opts.SegmentSize {
				if err = l.rotate(size); err != nil {
					break
				}
			}
			e := &r.events[i]
			*e = Event{Seq: size, ChainID: l.info.ChainID, Timestamp: now, PrevHash: head,
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
			size++
			head = e.Hash
		}
		if err != nil {
			break
		}
	}
	if err == nil {
		err = l.writeBuf()
	}
	if err == nil {
		err = s.flushTables()
	}
	if err != nil {
		l.fail(err)
		for _, r := range batch {
			r.events, r.err = nil, l.failErr
			r.done <- struct{}{}
		}
		return
	}
	s.mu.Lock()
	s.size, s.head = size, head
	s.ncp += uint64(len(cps))
	s.segNo, s.segEnd = l.w.segNo, l.w.segSize
	if newest != nil {
		s.latest = newest
		close(s.cpWait)
		s.cpWait = make(chan struct{})
	}
	s.mu.Unlock()
	if o := l.opts.Observer; o != nil {
		o.Committed(batchLen(batch), len(cps))
	}
	for _, r := range batch {
		r.done <- struct{}{}
	}
	if size-l.w.requested >= l.opts.CheckpointEvery {
		l.requestCheckpoint()
	} else if size > l.w.requested && !l.w.timerOn && !l.w.stopping {
		l.w.timerOn = true
		l.stopTimer = l.opts.Clock.AfterFunc(l.opts.CheckpointInterval/2, func() {
			select {
			case l.tick <- struct{}{}:
			default:
			}
		})
	}
}

func (c *Checkpoint) appendBody(b []byte) []byte { return appendCheckpointBody(b, c) }

// writeBuf writes the pending buffer at the end of the current segment and
// syncs it.
func (l *Log) writeBuf() error {
	if len(l.w.buf) == 0 {
		return nil
	}
	if _, err := l.w.seg.WriteAt(l.w.buf, l.w.segSize); err != nil {
		return fmt.Errorf("chain: write %s: %w", segmentName(l.w.segNo), err)
	}
	// Keep zeros ahead of the data, so that later commits change no
	// metadata (prealloc.go); this one's sync makes them durable.
	l.extendZeros(l.w.segSize + int64(len(l.w.buf)))
	// Real time, not the injected clock: this measures I/O.
	var t0 time.Time
	if l.opts.Observer != nil {
		t0 = time.Now()
	}
	if err := datasync(l.w.seg); err != nil {
		return fmt.Errorf("chain: fsync %s: %w", segmentName(l.w.segNo), err)
	}
	if o := l.opts.Observer; o != nil {
		o.Synced(time.Since(t0))
	}
	l.w.segSize += int64(len(l.w.buf))
	l.w.buf = l.w.buf[:0]
	return nil
}

// rotate finishes the current segment and starts the next one; firstSeq is
// the sequence number of the next event.
func (l *Log) rotate(firstSeq uint64) error {
	if err := l.writeBuf(); err != nil {
		return err
	}
	if err := l.trimSegment(); err != nil {
		return err
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
	l.w.buf = appendFramed(l.w.buf[:0], segmentHeader{ChainID: l.info.ChainID, Number: l.w.segNo, FirstSeq: firstSeq, Origin: l.info.Origin}.appendBody)
	l.w.segHeader = true
	l.logger.Info("chain: rotated segment", "segment", segmentName(l.w.segNo), "first_seq", firstSeq)
	return nil
}

// requestCheckpoint hands the current head to the signer.
func (l *Log) requestCheckpoint() {
	size := l.store.size // committer is the only writer of size
	if size == 0 || size <= l.w.requested {
		return
	}
	l.w.requested = size
	l.signMu.Lock()
	l.signWant = &Checkpoint{Origin: l.info.Origin, Size: size, Root: l.w.compact.root()}
	l.signMu.Unlock()
	select {
	case l.signKick <- struct{}{}:
	default:
	}
}

// signer signs requested tree heads off the append path.
func (l *Log) signer() {
	defer close(l.signDone)
	for {
		select {
		case <-l.signStop:
			return
		case <-l.signKick:
		}
		l.signMu.Lock()
		want := l.signWant
		l.signWant = nil
		l.signMu.Unlock()
		if want == nil {
			continue
		}
		want.Timestamp = l.opts.Clock.Now().UnixNano()
		cp, err := signCheckpoint(l.opts.Keys, *want, l.opts.DeterministicSignatures)
		if err != nil {
			l.logger.Error("chain: checkpoint signing failed", "size", want.Size, "err", err)
			continue
		}
		select {
		case l.signed <- cp:
		case <-l.signStop:
			return
		}
		if now := l.opts.Clock.Now(); now.Sub(l.lastState) >= stateInterval {
			l.lastState = now
			if err := l.saveState(); err != nil {
				l.logger.Warn("chain: saving index state failed", "err", err)
			}
		}
	}
}

// saveState syncs the derived tables and records how far they are valid.
// Safe to call concurrently with the committer: it only claims what was
// published before the sync started.
func (l *Log) saveState() error {
	s := l.store
	s.mu.RLock()
	st := persistedState{Events: s.size, Checkpoints: s.ncp, Segment: s.segNo, Offset: s.segEnd, Head: s.head}
	s.mu.RUnlock()
	root, err := subtreeHash(fileTree{s.tree}, 0, st.Events)
	if err != nil {
		return err
	}
	st.Root = root
	for _, t := range []*table{s.index, s.tree, s.cps} {
		if err := t.sync(); err != nil {
			return fmt.Errorf("chain: sync index: %w", err)
		}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("chain: encode state: %w", err)
	}
	return writeFileAtomic(s.dir, stateFile, b)
}

// shutdown runs in the committer after the last batch: it stops the signer,
// signs a final checkpoint synchronously and persists the index state.
func (l *Log) shutdown() {
	l.w.stopping = true
	if l.stopTimer != nil {
		l.stopTimer()
	}
	close(l.signStop)
	<-l.signDone
	// A checkpoint signed just before the signer stopped may be waiting.
	select {
	case cp := <-l.signed:
		l.commit(nil, []Checkpoint{cp})
	default:
	}
	if l.failErr != nil {
		return
	}
	if size := l.store.size; size > 0 && size > l.latestSize() {
		cp, err := signCheckpoint(l.opts.Keys, Checkpoint{Origin: l.info.Origin, Size: size, Root: l.w.compact.root(),
			Timestamp: l.opts.Clock.Now().UnixNano()}, l.opts.DeterministicSignatures)
		if err != nil {
			l.fail(err)
			return
		}
		l.w.requested = size
		l.commit(nil, []Checkpoint{cp})
	}
	if l.failErr != nil {
		return
	}
	if err := l.saveState(); err != nil {
		l.fail(err)
	}
}

// Err returns nil while the log accepts appends and the write failure
// that made it read-only otherwise. Safe for concurrent use.
func (l *Log) Err() error {
	if e := l.failed.Load(); e != nil {
		return *e
	}
	return nil
}
