package session

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/filelock"
	"github.com/weftos/weftos/internal/groupcommit"
)

// Committer group-commits the journals of every session opened with it
// (WithCommitter): one fsync makes the steps of many sessions durable.
//
// A durable Append writes its line to the session's journal as usual (so
// readers see it at once) but does not fsync the journal. It hands the
// bytes to the committer, which appends them, with the steps of every
// other session waiting at that moment, to a shared log (one write, one
// fsync) and only then lets each Append return. A step reported durable is
// therefore on disk — in the log — before the caller goes on, whatever
// happens to the journal's own unsynced pages.
//
// The log is retired a file ("generation") at a time: when one reaches its
// size bound, new records go to a fresh file while the journals the old
// one covers are fsynced (in parallel, off every caller's path) and the
// old file is deleted. Close retires everything, so a cleanly stopped
// committer leaves no log. After a crash, OpenCommitter (or Open) replays
// the log into the journals before anything reads them.
//
// While a committer runs on a home, a session it has open is locked as
// usual; one it has closed (fsynced by Close) may be opened and written
// without it, and a replay keeps what was appended after its logged
// records.
type Committer struct {
	home, dir string
	log       *slog.Logger
	lock      *os.File
	rotateAt  int64

	closeMu sync.RWMutex
	closed  bool
	reqs    chan *commitReq
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	failed  atomic.Pointer[error]
	stats   struct{ batches, records, bytes, retired atomic.Uint64 }

	// Owned by run.
	gen      uint64
	f        *os.File
	size     int64
	dirty    map[*Session]struct{} // sessions with records in the current generation
	buf      []byte
	ckpt     chan retireJob
	ckptDone chan retireResult
	ckptBusy bool
	next     *os.File // the next generation's file, written with zeros, or nil
	nextGen  uint64
	pace     groupcommit.Pace
}

// commitReq is one session's bytes waiting for the group commit. A session
// has at most one in flight (it waits under its lock), so it reuses one.
type commitReq struct {
	s    *Session
	off  int64
	data []byte
	done chan error
}

// retireJob asks the retirer to retire a log file (path, "" for none)
// and the journals it covers, then to make generation prepare's file
// ready (0 for none).
type retireJob struct {
	path     string
	sessions []*Session
	prepare  uint64
}

type retireResult struct {
	err  error
	next *os.File // generation job.prepare's file, or nil
	gen  uint64
}

// CommitOption configures OpenCommitter.
type CommitOption func(*commitOptions)

type commitOptions struct {
	logger   *slog.Logger
	rotateAt int64
}

// DefaultCommitLogSize is the size at which a log file is retired.
const DefaultCommitLogSize = 16 << 20

// WithCommitLogger sets the committer's logger (default: discard).
func WithCommitLogger(l *slog.Logger) CommitOption { return func(o *commitOptions) { o.logger = l } }

// WithCommitLogSize sets the size at which a log file is retired (default
// DefaultCommitLogSize). Smaller files are replayed faster after a crash;
// each retirement fsyncs every journal written since the last one.
func WithCommitLogSize(n int64) CommitOption { return func(o *commitOptions) { o.rotateAt = n } }

// CommitStats counts a committer's work.
type CommitStats struct {
	Batches uint64 // group commits: one write and one fsync each
	Records uint64 // session writes made durable
	Bytes   uint64 // log bytes written
	Retired uint64 // log files retired
}

// OpenCommitter takes the commit log of home's sessions, replays whatever
// a crashed predecessor left in it, and starts committing. ErrLocked means
// another committer runs on home.
func OpenCommitter(ctx context.Context, home string, opts ...CommitOption) (*Committer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := commitOptions{logger: slog.New(slog.DiscardHandler), rotateAt: DefaultCommitLogSize}
	for _, opt := range opts {
		opt(&o)
	}
	dir := commitDir(home)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("session: commit log: %w", err)
	}
	lock, err := filelock.Lock(filepath.Join(dir, commitLock))
	if errors.Is(err, filelock.ErrLocked) {
		return nil, fmt.Errorf("%w: another process group-commits the sessions of %s", ErrLocked, home)
	}
	if err != nil {
		return nil, fmt.Errorf("session: commit log: %w", err)
	}
	c := &Committer{home: filepath.Clean(home), dir: dir, log: o.logger, lock: lock, rotateAt: o.rotateAt,
		reqs: make(chan *commitReq, 1024), dirty: map[*Session]struct{}{},
		ckpt: make(chan retireJob, 1), ckptDone: make(chan retireResult, 1)}
	gens, err := listGens(dir)
	if err == nil && len(gens) > 0 {
		c.gen = gens[len(gens)-1]
		err = replayCommitLog(home, dir, gens, c.log)
	}
	if err == nil {
		err = c.startGen(c.gen + 1)
	}
	if err != nil {
		filelock.Unlock(lock)
		return nil, err
	}
	// The first file is used as created; the next one is made ready in
	// the background.
	c.ckptBusy = true
	c.ckpt <- retireJob{prepare: c.gen + 1}
	var runCtx context.Context
	runCtx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(2)
	go c.run(runCtx)
	go c.retirer()
	return c, nil
}

// startGen creates log file gen and makes its name durable, so that
// records committed in it survive a crash.
func (c *Committer) startGen(gen uint64) error {
	f, err := os.OpenFile(filepath.Join(c.dir, genName(gen)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		if err = syncDir(c.dir); err != nil {
			f.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("session: commit log: %w", err)
	}
	c.gen, c.f, c.size = gen, f, 0
	return nil
}

// Stats returns the committer's counters.
func (c *Committer) Stats() CommitStats {
	return CommitStats{Batches: c.stats.batches.Load(), Records: c.stats.records.Load(),
		Bytes: c.stats.bytes.Load(), Retired: c.stats.retired.Load()}
}

// Err returns the failure that stopped the committer, or nil.
func (c *Committer) Err() error {
	if e := c.failed.Load(); e != nil {
		return *e
	}
	return nil
}

// fail stops the committer for good: after a failed write or fsync the
// log's state is unknown, so nothing more is acknowledged, and no log file
// is retired (the next open replays them).
func (c *Committer) fail(err error) {
	werr := fmt.Errorf("session: commit log failed, no further durable appends: %w", err)
	if c.failed.CompareAndSwap(nil, &werr) {
		c.log.Error("session: the commit log cannot be written; sessions are closed for writing", "err", err)
	}
}

// commit makes req's bytes durable in the log, with whatever else is
// waiting. It returns once they are on disk, or with the failure.
func (c *Committer) commit(req *commitReq) error {
	c.closeMu.RLock()
	if c.closed {
		c.closeMu.RUnlock()
		return fmt.Errorf("%w: the session committer is closed", ErrClosed)
	}
	if err := c.Err(); err != nil {
		c.closeMu.RUnlock()
		return err
	}
	c.reqs <- req // the committer always drains: this waits for room at most
	c.closeMu.RUnlock()
	return <-req.done
}

// maxCommitBatch bounds the bytes of one group commit.
const maxCommitBatch = 8 << 20

func (c *Committer) run(ctx context.Context) {
	defer c.wg.Done()
	var batch []*commitReq
	for {
		select {
		case r := <-c.reqs:
			batch = append(batch, r)
		case res := <-c.ckptDone:
			c.retired(res)
			continue
		case <-ctx.Done():
			// Close: no new request can arrive; commit what is queued.
			for {
				select {
				case r := <-c.reqs:
					batch = append(batch, r)
					continue
				default:
				}
				break
			}
			c.write(batch)
			c.finish()
			return
		}
		batch = c.gather(ctx, batch)
		c.write(batch)
		clear(batch)
		batch = batch[:0]
		c.maybeRotate()
	}
}

// gather adds to batch what else is waiting and, when many sessions are
// committing at once, what arrives within a short wait (see groupcommit.Pace).
func (c *Committer) gather(ctx context.Context, batch []*commitReq) []*commitReq {
	n := 0
	for _, r := range batch {
		n += len(r.data)
	}
	take := func(r *commitReq) {
		batch = append(batch, r)
		n += len(r.data)
	}
	for n < maxCommitBatch {
		select {
		case r := <-c.reqs:
			take(r)
			continue
		default:
		}
		break
	}
	wait := c.pace.Linger(len(batch))
	if wait <= 0 || n >= maxCommitBatch {
		return batch
	}
	// Real time, not an injected clock: this bounds a wait for I/O.
	t := time.NewTimer(wait)
	defer t.Stop()
	for n < maxCommitBatch && len(batch) < groupcommit.LingerTarget {
		select {
		case r := <-c.reqs:
			take(r)
		case <-t.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// write appends the batch to the log with one write and one fsync, then
// answers every request.
func (c *Committer) write(batch []*commitReq) {
	if len(batch) == 0 {
		return
	}
	err := c.Err()
	if err == nil {
		buf := c.buf[:0]
		if c.size == 0 {
			buf = append(buf, commitMagic...)
		}
		for _, r := range batch {
			buf = appendCommitRecord(buf, r.s.meta.ID, r.s.name, r.off, r.data)
		}
		start := time.Now()
		if _, err = c.f.WriteAt(buf, c.size); err == nil {
			err = durable.DataSync(c.f)
		}
		c.pace.Committed(len(c.reqs), time.Since(start))
		if err != nil {
			c.fail(fmt.Errorf("%s: %w", c.f.Name(), err))
			err = c.Err()
		} else {
			c.size += int64(len(buf))
			c.stats.batches.Add(1)
			c.stats.records.Add(uint64(len(batch)))
			c.stats.bytes.Add(uint64(len(buf)))
			for _, r := range batch {
				c.dirty[r.s] = struct{}{}
			}
		}
		if cap(buf) <= 1<<20 {
			c.buf = buf
		} else {
			c.buf = nil
		}
	}
	for _, r := range batch {
		r.done <- err
	}
}

// maybeRotate starts a new log file once the current one is full, and has
// the old one retired (unless a retirement is still running: then the
// current file grows a little longer).
func (c *Committer) maybeRotate() {
	if c.size < c.rotateAt || c.ckptBusy || c.Err() != nil {
		return
	}
	old, sessions := c.f, c.dirty
	if c.next != nil && c.nextGen == c.gen+1 {
		c.gen, c.f, c.size, c.next = c.nextGen, c.next, 0, nil
	} else if err := c.startGen(c.gen + 1); err != nil {
		c.fail(err)
		return
	}
	if err := old.Close(); err != nil {
		c.fail(err)
		return
	}
	c.dirty = map[*Session]struct{}{}
	c.ckptBusy = true
	c.ckpt <- retireJob{path: old.Name(), sessions: slices.Collect(maps.Keys(sessions)), prepare: c.gen + 1}
}

// retired is told how a retirement ended.
func (c *Committer) retired(res retireResult) {
	c.ckptBusy = false
	if res.next != nil {
		c.next, c.nextGen = res.next, res.gen
	}
	if res.err != nil {
		c.fail(res.err)
		return
	}
	c.stats.retired.Add(1)
}

// retirer runs retirements: every journal a log file covers is fsynced,
// then the file is deleted; and it makes the next file ready.
func (c *Committer) retirer() {
	defer c.wg.Done()
	for job := range c.ckpt {
		var res retireResult
		if job.path != "" {
			res.err = c.retire(job.path, job.sessions)
		}
		if res.err == nil && job.prepare != 0 {
			// Without a ready file the next rotation creates one: not
			// having one is no failure.
			if f, err := c.prepareGen(job.prepare); err == nil {
				res.next, res.gen = f, job.prepare
			} else {
				c.log.Warn("session: could not make the next commit log file ready", "err", err)
			}
		}
		c.ckptDone <- res
	}
}

// prepareGen creates log file gen written with zeros to the size at which
// it will be retired, and makes it durable: records then overwrite
// allocated blocks, and a data sync commits them without touching the
// file system's metadata.
func (c *Committer) prepareGen(gen uint64) (*os.File, error) {
	path := filepath.Join(c.dir, genName(gen))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	zeros := make([]byte, min(c.rotateAt+maxCommitBatch, 1<<20))
	for off := int64(0); off < c.rotateAt+maxCommitBatch && err == nil; off += int64(len(zeros)) {
		_, err = f.WriteAt(zeros, off)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(c.dir)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return f, nil
}

func (c *Committer) retire(path string, sessions []*Session) error {
	if err := syncJournals(sessions); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("session: retiring %s: %w", path, err)
	}
	if err := syncDir(c.dir); err != nil {
		return fmt.Errorf("session: retiring %s: %w", path, err)
	}
	return nil
}

// syncJournals fsyncs the journals of sessions, several at a time (the
// file system merges concurrent fsyncs into fewer journal commits).
func syncJournals(sessions []*Session) error {
	const workers = 8
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range min(workers, len(sessions)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(len(sessions)); i = next.Add(1) - 1 {
				if err := sessions[i].syncJournal(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// finish ends run: it waits for a running retirement, then makes every
// journal durable on its own and retires the whole log, so nothing is left
// to replay. A failed committer keeps its log for the next open.
func (c *Committer) finish() {
	if c.ckptBusy {
		c.retired(<-c.ckptDone)
	}
	close(c.ckpt)
	if c.next != nil {
		// Never used: nothing in it.
		c.next.Close()
		os.Remove(c.next.Name())
		c.next = nil
	}
	if c.Err() == nil {
		path := c.f.Name()
		if err := c.f.Close(); err != nil {
			c.fail(err)
		} else if err := c.retire(path, slices.Collect(maps.Keys(c.dirty))); err != nil {
			c.fail(err)
		}
		c.f = nil
	}
	if c.f != nil {
		_ = c.f.Close()
	}
}

// Close stops accepting appends, commits those queued, makes every journal
// durable, retires the log and releases it. Sessions still open can no
// longer append durably (ErrClosed); close them first. It returns the
// committer's failure, if it failed.
func (c *Committer) Close(ctx context.Context) error {
	c.closeMu.Lock()
	if c.closed {
		c.closeMu.Unlock()
		return fmt.Errorf("%w: the session committer is already closed", ErrClosed)
	}
	c.closed = true
	c.closeMu.Unlock()
	c.cancel()
	stopped := make(chan struct{})
	go func() { c.wg.Wait(); close(stopped) }()
	var err error
	select {
	case <-stopped:
	case <-ctx.Done():
		err = ctx.Err()
		<-stopped // fsyncs end; wait so no goroutine outlives Close
	}
	filelock.Unlock(c.lock)
	return errors.Join(err, c.Err())
}
