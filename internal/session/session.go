// Package session stores durable agent sessions: an append-only journal of
// the steps of an agent's runs (user messages, model requests and
// responses, tool calls started and completed, final answers, errors) under
// <home>/sessions/<name>/.
//
// Each step is one JSON line, written and fsynced before Append returns, so
// a step Append reported as done survives kill -9 and power loss. A crash
// in the middle of a write leaves at most one torn final line, which Open
// truncates and reports. Resume rebuilds the conversation and the set of
// completed tool calls so a resumed run never runs a completed tool call
// again.
//
// One process at a time may hold a session open (an advisory lock that the
// operating system releases when the process dies). The package imports no
// other WeftOS layer; messages are kept in a provider-neutral form.
package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Files inside a session directory.
const (
	JournalFile = "journal.jsonl"
	MetaFile    = "session.json"
	LockFile    = "lock"
	// Dir is the directory under the home that holds the sessions.
	Dir = "sessions"
)

var (
	// ErrInvalidName is returned for a session name that is not safe as a
	// directory name.
	ErrInvalidName = errors.New("session: invalid session name")
	// ErrNotFound is returned when a session does not exist.
	ErrNotFound = errors.New("session: no such session")
	// ErrLocked is returned when another process holds the session open.
	ErrLocked = errors.New("session: in use by another process")
	// ErrCorrupt is returned when a journal holds a complete line that is
	// not a valid record, or records that contradict each other.
	ErrCorrupt = errors.New("session: journal corrupt")
	// ErrInvalidStep is returned by Append for a step that is malformed or
	// inconsistent with the session (e.g. completing a tool call that never
	// started).
	ErrInvalidStep = errors.New("session: invalid step")
	// ErrClosed is returned by Append after Close, or after a failed write
	// left the journal in an unknown state.
	ErrClosed = errors.New("session: closed")
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidName reports whether name is a valid session name: 1 to 64
// characters from [A-Za-z0-9_.-], starting with a letter or digit, without
// "..", so it can never name a path outside the sessions directory.
func ValidName(name string) bool {
	return nameRE.MatchString(name) && !strings.Contains(name, "..")
}

// CheckName returns nil for a valid session name, else an
// ErrInvalidName error that states the rule.
func CheckName(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: %q (1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit)", ErrInvalidName, name)
	}
	return nil
}

// Path returns the directory of session name under home.
func Path(home, name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	return filepath.Join(home, Dir, name), nil
}

// Meta is the session's metadata file.
type Meta struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Version int       `json:"version"`
	// ID identifies this incarnation of the session (random, set when it
	// is created; sessions from before it existed get one when next
	// opened): the commit log names it, so a session removed and created
	// again never receives its predecessor's records.
	ID string `json:"id,omitempty"`
}

// Option configures Open.
type Option func(*options)

type options struct {
	now       func() time.Time
	logger    *slog.Logger
	committer *Committer
}

// WithClock sets the time source for step times (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithCommitter makes the session's durable appends group-committed by c
// (see Committer), which must be the committer of the same home.
func WithCommitter(c *Committer) Option { return func(o *options) { o.committer = c } }

// Recovery describes what Open repaired.
type Recovery struct {
	// TornBytes is the length of the torn final line Open truncated; 0 when
	// the journal was clean.
	TornBytes int64
}

// Session is an open, locked session. Its methods are safe for concurrent
// use.
type Session struct {
	name, dir string
	opts      options
	meta      Meta
	recovered Recovery

	mu     sync.Mutex
	f      *os.File // journal, nil once closed or broken; set to nil under fmu too
	lock   *os.File
	size   int64
	replay *replay
	broken error

	// With a committer: the buffered steps since the last durable append,
	// which the next one writes and commits with its own (pendingOff is
	// where they go in the journal); the reusable commit request; and fmu,
	// which keeps the file open while a log retirement fsyncs it.
	pending    []byte
	pendingOff int64
	req        commitReq
	fmu        sync.Mutex
	wrote      bool  // appended since open: Close fsyncs the journal
	unsynced   error // why the closed journal may not be durable
}

// Open opens session name under home, creating it if it does not exist,
// and takes its lock (ErrLocked if another process holds it). A torn final
// line left by a crash is truncated and reported by Recovered; any other
// damage is ErrCorrupt and the session is not opened.
func Open(home, name string, opts ...Option) (*Session, error) {
	dir, err := Path(home, name)
	if err != nil {
		return nil, err
	}
	o := options{now: time.Now, logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	if c := o.committer; c != nil && c.home != filepath.Clean(home) {
		return nil, fmt.Errorf("session: the committer of %s cannot commit sessions of %s", c.home, home)
	}
	if err := os.MkdirAll(filepath.Join(home, Dir), 0o700); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if o.committer == nil {
		if err := recoverAbandoned(home, o.logger); err != nil {
			return nil, err
		}
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("session: %w", err)
	}
	lock, err := lockFile(filepath.Join(dir, LockFile))
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", name, err)
	}
	s := &Session{name: name, dir: dir, opts: o, lock: lock}
	s.req = commitReq{s: s, done: make(chan error, 1)}
	if err := s.load(); err != nil {
		unlockFile(lock)
		return nil, err
	}
	return s, nil
}

func (s *Session) load() error {
	meta, err := readMeta(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		meta = Meta{Name: s.name, Created: s.opts.now().UTC(), Version: CurrentFormat, ID: newID()}
		if err := writeMeta(s.dir, meta); err != nil {
			return err
		}
	} else if err != nil {
		return err
	} else if meta.ID == "" {
		meta.ID = newID()
		if err := writeMeta(s.dir, meta); err != nil {
			return err
		}
	}
	s.meta = meta
	f, err := os.OpenFile(filepath.Join(s.dir, JournalFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	// The steps themselves are kept only to rewrite an older journal:
	// the replayed state is what a session holds in memory.
	res, err := scan(f, f.Name(), meta.format(), meta.format() < CurrentFormat)
	if err != nil {
		f.Close()
		return fmt.Errorf("session %s: %w", s.name, err)
	}
	if meta.format() < CurrentFormat {
		// An older session: rewrite it with checksums before writing to it.
		f.Close()
		if err := s.upgrade(res); err != nil {
			return err
		}
		return s.load()
	}
	if res.torn > 0 {
		if err := f.Truncate(res.good); err != nil {
			f.Close()
			return fmt.Errorf("session %s: truncate torn record: %w", s.name, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("session %s: sync: %w", s.name, err)
		}
		s.recovered.TornBytes = res.torn
		s.opts.logger.Warn("session: truncated a torn final record left by a crash",
			"session", s.name, "bytes", res.torn, "offset", res.good)
	}
	if _, err := f.Seek(res.good, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("session: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return fmt.Errorf("session: sync directory: %w", err)
	}
	if s.opts.committer != nil {
		// The commit log covers what is appended from here on: what is
		// already in the journal (a buffered step, say) must be durable
		// on its own.
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("session %s: sync: %w", s.name, err)
		}
	}
	s.f, s.size, s.replay = f, res.good, res.replay
	return nil
}

// newID returns a random session incarnation ID.
func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// Name returns the session's name.
func (s *Session) Name() string { return s.name }

// Meta returns the session's metadata.
func (s *Session) Meta() Meta { return s.meta }

// Recovered reports what Open repaired.
func (s *Session) Recovered() Recovery { return s.recovered }

// Append writes step to the journal and fsyncs it; only when it returns nil
// does the step count as completed. It assigns the step's Seq and Time
// (any values set by the caller are replaced) and returns the stored step.
// A step inconsistent with the session (see ErrInvalidStep) is refused
// before anything is written. If the write or fsync fails the session is
// closed for writing: reopen it to recover.
func (s *Session) Append(ctx context.Context, step Step) (Step, error) {
	return s.append(ctx, step, true)
}

// AppendBuffered writes step like Append but does not fsync it: the step
// becomes durable with the next Append (one fsync for both). A crash before
// then may lose it. Use it only for a step that is safe to redo, such as a
// model response immediately followed by the final answer. With a
// committer the step reaches the journal file with the next Append (one
// write for both) or at Close; until then only this Session (Steps,
// Resume) shows it, not Read.
func (s *Session) AppendBuffered(ctx context.Context, step Step) (Step, error) {
	return s.append(ctx, step, false)
}

func (s *Session) append(ctx context.Context, step Step, sync bool) (Step, error) {
	if err := ctx.Err(); err != nil {
		return Step{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		if s.broken != nil {
			return Step{}, fmt.Errorf("%w: %w", ErrClosed, s.broken)
		}
		return Step{}, ErrClosed
	}
	trusted, hasTrusted := step.trustedPayload()
	step.Seq = s.replay.st.LastSeq + 1
	step.Time = s.opts.now().UTC()
	if !step.Type.Valid() {
		return Step{}, fmt.Errorf("%w: unknown step type %q", ErrInvalidStep, step.Type)
	}
	line, dataAt, err := encodeRecord(step, s.meta.format())
	if err != nil {
		return Step{}, fmt.Errorf("%w: %v", ErrInvalidStep, err)
	}
	if len(line) > MaxRecordSize {
		return Step{}, fmt.Errorf("%w: record of %d bytes is larger than %d", ErrInvalidStep, len(line), MaxRecordSize)
	}
	// The stored step is exactly what a reader will decode from the line
	// (its data compacted, as written).
	stored := Step{Seq: step.Seq, Time: step.Time, Type: step.Type, Data: recordData(line, dataAt, s.meta.format())}
	if hasTrusted {
		stored.payload, stored.pdata, stored.plen = trusted, &stored.Data[0], len(stored.Data)
	}
	payload, err := s.replay.check(stored, true)
	if err != nil {
		return Step{}, fmt.Errorf("%w: %v", ErrInvalidStep, err)
	}
	stored.payload, stored.pdata, stored.plen = nil, nil, 0
	if c := s.opts.committer; c != nil {
		// A buffered step is written with the next durable one (one write
		// for both), then both are committed.
		s.wrote = true
		if len(s.pending) == 0 {
			s.pendingOff = s.size
		}
		s.pending = append(s.pending, line...)
		if sync {
			if _, err := s.f.Write(s.pending); err != nil {
				return Step{}, s.fail(fmt.Errorf("write: %w", err))
			}
			s.req.off, s.req.data = s.pendingOff, s.pending
			err := c.commit(&s.req)
			s.req.data = nil
			if err != nil {
				return Step{}, s.fail(fmt.Errorf("group commit: %w", err))
			}
			s.clearPending()
		}
	} else {
		if _, err := s.f.Write(line); err != nil {
			return Step{}, s.fail(fmt.Errorf("write: %w", err))
		}
		if sync {
			if err := s.f.Sync(); err != nil {
				return Step{}, s.fail(fmt.Errorf("fsync: %w", err))
			}
		}
	}
	s.size += int64(len(line))
	s.replay.apply(stored, payload)
	return stored, nil
}

// fail closes the journal after a failed write: after a failed fsync the
// file's contents are unknown, so the only safe course is to reopen, which
// rescans and truncates.
func (s *Session) fail(err error) error {
	size := s.size
	if len(s.pending) > 0 {
		size = s.pendingOff // buffered steps not yet written are dropped
		s.clearPending()
	}
	s.size = size
	terr := s.f.Truncate(size)
	if terr == nil {
		terr = s.f.Sync()
	}
	s.fmu.Lock()
	s.f.Close()
	s.f = nil
	if terr != nil {
		s.unsynced = fmt.Errorf("session %s: journal left unsynced after a failure: %w", s.name, terr)
	}
	s.fmu.Unlock()
	s.broken = err
	s.opts.logger.Error("session: journal write failed; session closed for writing", "session", s.name, "err", err)
	return fmt.Errorf("session %s: %w", s.name, err)
}

// Steps returns every step in the journal, oldest first, read back from
// it (buffered steps not yet written included): a session keeps its
// replayed state in memory, not its steps.
func (s *Session) Steps() ([]Step, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.f
	if f == nil { // closed: what it wrote is in the file
		var err error
		if f, err = os.Open(filepath.Join(s.dir, JournalFile)); err != nil {
			return nil, fmt.Errorf("session %s: %w", s.name, err)
		}
		defer f.Close()
	}
	written := s.size - int64(len(s.pending))
	r := io.MultiReader(io.NewSectionReader(f, 0, written), bytes.NewReader(s.pending))
	res, err := scan(r, f.Name(), s.meta.format(), true)
	if err != nil {
		return nil, fmt.Errorf("session %s: %w", s.name, err)
	}
	if res.good != s.size {
		return nil, fmt.Errorf("session %s: journal holds %d bytes of whole records, want %d", s.name, res.good, s.size)
	}
	return res.steps, nil
}

// Resume returns the session's reconstructed state: the conversation so
// far, the completed tool calls by ID, and the tool calls that started but
// did not complete or were asked for but never started. Slices and maps are
// copies; the messages' ToolCalls are shared and must not be modified.
func (s *Session) Resume() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.replay.state()
	if st.Updated.IsZero() {
		st.Updated = s.meta.Created
	}
	return st
}

// Conversation serves a caller that keeps a copy of the conversation
// between calls (the agent host, every turn), at the cost of what is new
// where Resume copies the whole state. The caller passes the epoch its
// copy was taken in and how many messages it holds; it gets the messages
// from index from on, to keep its first from messages and append them,
// the epoch to pass next time, and the status. A reset starts a new epoch
// (messages only grow within one): a copy from an earlier epoch is
// replaced whole (from is 0).
func (s *Session) Conversation(epoch uint64, have int) (msgs []Message, from int, now uint64, status Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.replay
	if epoch != r.resets || have < 0 || have > len(r.st.Messages) {
		have = 0
	}
	return slices.Clone(r.st.Messages[have:]), have, r.resets, r.st.Status
}

// Close closes the journal and releases the lock. With a committer it
// first fsyncs the journal, so its steps no longer depend on the commit
// log. It is safe to call more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.f != nil {
		if len(s.pending) > 0 {
			err = s.closePending()
		}
		if s.opts.committer != nil && s.wrote && err == nil {
			if err = s.f.Sync(); err != nil {
				err = fmt.Errorf("session %s: sync: %w", s.name, err)
			}
		}
		s.fmu.Lock()
		err = errors.Join(err, s.f.Close())
		s.f = nil
		s.unsynced = err
		s.fmu.Unlock()
	}
	if s.lock != nil {
		unlockFile(s.lock)
		s.lock = nil
	}
	return err
}

// closePending writes the buffered steps at Close. With a committer
// they are committed through its log like any durable step: a replay
// after a crash cuts each journal at the end of its last logged record,
// so steps only fsynced into the journal would be lost to it. If the
// committer was closed (cleanly: its log is retired, nothing will cut the
// journal), the fsync of Close makes them durable; if it failed, they are
// dropped from the journal and Close reports it.
func (s *Session) closePending() error {
	defer s.clearPending()
	if _, err := s.f.Write(s.pending); err != nil {
		_ = s.f.Truncate(s.pendingOff)
		return fmt.Errorf("session %s: buffered steps not written: %w", s.name, err)
	}
	c := s.opts.committer
	if c == nil {
		return nil
	}
	s.req.off, s.req.data = s.pendingOff, s.pending
	err := c.commit(&s.req)
	s.req.data = nil
	if err == nil || (errors.Is(err, ErrClosed) && c.Err() == nil) {
		return nil
	}
	if terr := s.f.Truncate(s.pendingOff); terr != nil {
		err = errors.Join(err, terr)
	}
	return fmt.Errorf("session %s: %d bytes of buffered steps dropped, not made durable: %w", s.name, len(s.pending), err)
}

func (s *Session) clearPending() {
	s.pending = s.pending[:0]
	if cap(s.pending) > 64<<10 {
		s.pending = nil // do not keep a large step's buffer
	}
}

// syncJournal fsyncs the journal for a commit-log retirement. A closed
// journal was fsynced by Close, unless that failed.
func (s *Session) syncJournal() error {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.f == nil {
		return s.unsynced
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("session %s: sync: %w", s.name, err)
	}
	return nil
}

// format is the journal format of the session (Version 0 means 1).
func (m Meta) format() int {
	if m.Version < FormatPlain {
		return FormatPlain
	}
	return m.Version
}

// upgrade rewrites a format-1 journal (whole records only: a torn tail is
// dropped, as Open would) in the current format, atomically, and records
// the new format in the metadata.
func (s *Session) upgrade(res scanResult) error {
	var buf bytes.Buffer
	for _, st := range res.steps {
		line, _, err := encodeRecord(st, CurrentFormat)
		if err != nil {
			return fmt.Errorf("session %s: upgrading the journal: %w", s.name, err)
		}
		buf.Write(line)
	}
	tmp, err := os.CreateTemp(s.dir, ".journal-*.tmp")
	if err != nil {
		return fmt.Errorf("session %s: %w", s.name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(s.dir, JournalFile))
	}
	if err != nil {
		return fmt.Errorf("session %s: upgrading the journal: %w", s.name, err)
	}
	m := s.meta
	m.Version = CurrentFormat
	if err := writeMeta(s.dir, m); err != nil {
		return err
	}
	s.opts.logger.Info("session: journal rewritten with checksums", "session", s.name, "steps", len(res.steps))
	return nil
}

func readMeta(dir string) (Meta, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return Meta{}, err
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return Meta{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, MetaFile, err)
	}
	return m, nil
}

// writeMeta writes the metadata atomically: temp file, fsync, rename.
func writeMeta(dir string, m Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".session-*.tmp")
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("session: write meta: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("session: sync meta: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, MetaFile)); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return syncDir(dir)
}
