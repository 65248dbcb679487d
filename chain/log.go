package chain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options.
const (
	DefaultSegmentSize        = 64 << 20
	MaxSegmentSize            = 1 << 30
	DefaultCheckpointInterval = 100 * time.Millisecond
	DefaultCheckpointEvery    = 1000
	DefaultMaxBatch           = 8192
	DefaultLazyDelay          = 20 * time.Millisecond
	DefaultSyncDepth          = 2
	MaxSyncDepth              = 16
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
	// SyncDepth is how many fsyncs of the segment may be in flight at
	// once (default 2, at most 16; commit.go): a batch that arrives while
	// another's fsync runs is written and synced at once instead of
	// waiting for it. 1 syncs one batch at a time.
	SyncDepth int
	Clock     Clock
	Logger    *slog.Logger
	// Observer, if set, is told about every group commit and segment
	// fsync (for metrics).
	Observer Observer
	// DeterministicSignatures uses deterministic ML-DSA-65 signing (for test
	// vectors); by default signing is hedged (randomized).
	DeterministicSignatures bool

	// syncData replaces fdatasync in tests (to hold or fail a sync).
	syncData func(*os.File) error
	// noPrealloc turns segment preallocation off (for benchmarks that
	// compare with it).
	noPrealloc bool
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
	if o.SyncDepth <= 0 {
		o.SyncDepth = DefaultSyncDepth
	}
	if o.SyncDepth > MaxSyncDepth {
		return fmt.Errorf("chain: sync depth %d above %d", o.SyncDepth, MaxSyncDepth)
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
// fsync per batch, with up to Options.SyncDepth fsyncs in flight; see
// commit.go) and acknowledged only once durable; checkpoints are signed in
// the background. All methods are safe for concurrent use.
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
	// syncs in flight report here (buffered for every slot); the
	// committer waits for all of them before it returns.
	syncDone chan *syncJob
	syncWG   sync.WaitGroup
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
	// size, head and ncp are the chain as written (ahead of the store's
	// published, acknowledged values while syncs are in flight).
	size      uint64
	head      Hash
	ncp       uint64
	requested uint64 // tree size of the last checkpoint requested
	timerOn   bool
	stopping  bool
	// Pipelined syncs (commit.go): writes issued, the writes covered by
	// the last sync started, syncs in flight in start order, batches
	// written but not acknowledged, and the sync slots' descriptors.
	written uint64
	covered uint64
	jobs    []*syncJob
	pending []*pendingCommit
	syncFDs []*os.File
	freeFDs []*os.File
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
		syncDone: make(chan *syncJob, opts.SyncDepth),
	}
	l.w.compact = rec.compact
	l.w.size, l.w.head, l.w.ncp = s.size, s.head, s.ncp
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
	if err := l.openSyncFDs(); err != nil {
		f.Close()
		return err
	}
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
	evs, _, err := l.appendBatch(ctx, entries, false, true)
	return evs, err
}

// AppendSeq is AppendBatch for a caller that needs only the sequence
// number of the last event (an audit record's): it returns that, and
// allocates nothing per event.
func (l *Log) AppendSeq(ctx context.Context, entries []Entry) (uint64, error) {
	_, last, err := l.appendBatch(ctx, entries, false, false)
	return last, err
}

// AppendBatchLazy is AppendBatch for records nobody waits on (observations
// recorded off the caller's path): the batch waits up to
// Options.LazyDelay for a durable append to share its write and fsync
// with, instead of costing one of its own. It still returns only once the
// events are durable.
func (l *Log) AppendBatchLazy(ctx context.Context, entries []Entry) ([]Event, error) {
	evs, _, err := l.appendBatch(ctx, entries, true, true)
	return evs, err
}

// appendBatch appends entries; it returns the events when events is true,
// else only the last one's seq (the request keeps its events array for
// its next use).
func (l *Log) appendBatch(ctx context.Context, entries []Entry, lazy, events bool) ([]Event, uint64, error) {
	if len(entries) == 0 {
		if events {
			return nil, 0, nil
		}
		return nil, 0, fmt.Errorf("%w: no entries", ErrInvalidEvent) // no seq to return
	}
	if len(entries) > l.opts.MaxBatch {
		return nil, 0, fmt.Errorf("%w: batch of %d entries above MaxBatch %d", ErrInvalidEvent, len(entries), l.opts.MaxBatch)
	}
	req := reqPool.Get().(*appendReq)
	req.entries = req.entries[:0]
	req.lazy = lazy
	for _, e := range entries {
		p, err := prepare(e)
		if err != nil {
			reqPool.Put(req)
			return nil, 0, err
		}
		req.entries = append(req.entries, p)
	}
	l.closeMu.RLock()
	if l.closing {
		l.closeMu.RUnlock()
		reqPool.Put(req)
		return nil, 0, ErrClosed
	}
	select {
	case l.reqs <- req: // room in the queue: no select over ctx too
		l.closeMu.RUnlock()
	default:
		select {
		case l.reqs <- req:
			l.closeMu.RUnlock()
		case <-ctx.Done():
			l.closeMu.RUnlock()
			reqPool.Put(req)
			return nil, 0, ctx.Err()
		}
	}
	select {
	case <-req.done:
	case <-ctx.Done():
		return nil, 0, ctx.Err() // req is abandoned to the committer; not reused
	}
	evs, err := req.events, req.err
	req.err = nil
	var last uint64
	if err == nil {
		last = evs[len(evs)-1].Seq
	}
	req.events = nil
	if !events {
		clear(evs) // the payloads are the recent window's and the caller's
		if cap(evs) <= 64 {
			req.events = evs[:0]
		}
		evs = nil
	}
	reqPool.Put(req)
	return evs, last, err
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
		err = errors.Join(err, l.closeSyncFDs(), l.w.seg.Close())
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

// requestCheckpoint hands the current head to the signer.
func (l *Log) requestCheckpoint() {
	size := l.w.size // written; the checkpoint record is written after these events
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
		l.waitIdle()
	default:
	}
	if l.failErr != nil {
		return
	}
	if size := l.w.size; size > 0 && size > l.latestSize() {
		cp, err := signCheckpoint(l.opts.Keys, Checkpoint{Origin: l.info.Origin, Size: size, Root: l.w.compact.root(),
			Timestamp: l.opts.Clock.Now().UnixNano()}, l.opts.DeterministicSignatures)
		if err != nil {
			l.fail(err)
			return
		}
		l.w.requested = size
		l.commit(nil, []Checkpoint{cp})
		l.waitIdle()
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
