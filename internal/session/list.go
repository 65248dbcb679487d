package session

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Summary describes a session for `weft sessions list`.
type Summary struct {
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"` // time of the last step (Created when there is none)
	Steps    uint64    `json:"steps"`
	Status   Status    `json:"status"`
	LastType StepType  `json:"last_type,omitempty"` // "" when there are no steps
	Pending  int       `json:"pending"`             // tool calls started but not completed
	// TornBytes is the length of a torn final record a crash left; the next
	// Open truncates it.
	TornBytes int64 `json:"torn_bytes,omitempty"`
}

// Snapshot is a session read without taking its lock, as `weft sessions
// show` does: a torn final record is skipped, not truncated.
type Snapshot struct {
	Meta  Meta   `json:"meta"`
	Steps []Step `json:"steps"`
	State State  `json:"state"`
	// TornBytes is the length of the skipped torn final record.
	TornBytes int64 `json:"torn_bytes,omitempty"`
}

// Read returns the session's steps and state without locking or changing
// anything, so it works while another process has the session open.
func Read(home, name string) (Snapshot, error) {
	return read(home, name, true)
}

func read(home, name string, keep bool) (Snapshot, error) {
	dir, err := Path(home, name)
	if err != nil {
		return Snapshot{}, err
	}
	meta, err := readMeta(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return Snapshot{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("session %s: %w", name, err)
	}
	f, err := os.Open(filepath.Join(dir, JournalFile))
	if errors.Is(err, fs.ErrNotExist) {
		// Created but the journal not yet: an empty session.
		st := newReplay().state()
		st.Updated = meta.Created
		return Snapshot{Meta: meta, State: st}, nil
	}
	if err != nil {
		return Snapshot{}, fmt.Errorf("session: %w", err)
	}
	defer f.Close()
	res, err := scan(f, f.Name(), meta.format(), keep)
	if err != nil {
		return Snapshot{}, fmt.Errorf("session %s: %w", name, err)
	}
	st := res.replay.state()
	if st.Updated.IsZero() {
		st.Updated = meta.Created
	}
	return Snapshot{Meta: meta, Steps: res.steps, State: st, TornBytes: res.torn}, nil
}

// List summarises every session under home, most recently updated first.
// A session that cannot be read is returned as an error beside the list.
// No sessions directory means no sessions.
func List(home string) ([]Summary, []error) {
	entries, err := os.ReadDir(filepath.Join(home, Dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{fmt.Errorf("session: %w", err)}
	}
	var out []Summary
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !ValidName(e.Name()) {
			continue
		}
		snap, err := read(home, e.Name(), false)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, summarize(e.Name(), snap))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Updated.Equal(out[j].Updated) {
			return out[i].Updated.After(out[j].Updated)
		}
		return out[i].Name < out[j].Name
	})
	return out, errs
}

func summarize(name string, snap Snapshot) Summary {
	st := snap.State
	return Summary{
		Name: name, Created: snap.Meta.Created, Updated: st.Updated,
		Steps: st.LastSeq, Status: st.Status, LastType: st.LastType,
		Pending: len(st.Pending), TornBytes: snap.TornBytes,
	}
}

// Remove deletes session name. It refuses (ErrLocked) while another process
// holds the session open, and returns ErrNotFound if there is no such
// session.
func Remove(home, name string) error {
	dir, err := Path(home, name)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrNotFound, dir)
	}
	lock, err := lockFile(filepath.Join(dir, LockFile))
	if err != nil {
		return fmt.Errorf("session %s: %w", name, err)
	}
	// Move the directory aside while holding the lock, so a concurrent
	// Open either fails on the lock or creates a fresh session, never
	// writes into the one being deleted. The tombstone's leading dot keeps
	// it out of List.
	tomb, err := os.MkdirTemp(filepath.Join(home, Dir), ".removing-"+name+"-")
	if err != nil {
		unlockFile(lock)
		return fmt.Errorf("session: remove %s: %w", name, err)
	}
	target := filepath.Join(tomb, name)
	err = os.Rename(dir, target)
	unlockFile(lock)
	if err != nil {
		_ = os.Remove(tomb)
		return fmt.Errorf("session: remove %s: %w", name, err)
	}
	if err := os.RemoveAll(tomb); err != nil {
		return fmt.Errorf("session: remove %s: %w", name, err)
	}
	return nil
}
