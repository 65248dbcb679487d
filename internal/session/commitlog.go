package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/weftos/weftos/internal/filelock"
)

// The group-commit log (see Committer) lives in a hidden directory of the
// sessions directory: a lock file held by the committer and numbered log
// files ("generations"), oldest first.
//
// A log file starts with the 8-byte magic commitMagic, followed by
// records, then zeros to the end of the file (files are written with
// zeros before they are used, so that appending to them changes no file
// system metadata):
//
//	u32 length of body (little endian) | u32 CRC-32C of body | body
//	body: u8 kind (1) | u8 len | session id | u8 len | session name |
//	      u64 offset | data
//
// A record says: bytes data were written at offset in the journal of the
// session with that name and id (Meta.ID). The records of one session are
// contiguous: each starts where the previous one ended.
const (
	CommitDir     = ".commit"
	commitLock    = "lock"
	commitMagic   = "weftjcl\x01"
	commitExt     = ".log"
	kindAppend    = 1
	recHeaderLen  = 8
	maxCommitBody = 1 << 31
)

func commitDir(home string) string { return filepath.Join(home, Dir, CommitDir) }

func genName(gen uint64) string { return fmt.Sprintf("%016x%s", gen, commitExt) }

// commitRecord is one record of the group-commit log.
type commitRecord struct {
	id, name string
	off      int64
	data     []byte
}

// appendCommitRecord appends r's framed encoding to dst.
func appendCommitRecord(dst []byte, id, name string, off int64, data []byte) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0) // the header, filled in by frame
	dst = append(dst, kindAppend, byte(len(id)))
	dst = append(dst, id...)
	dst = append(dst, byte(len(name)))
	dst = append(dst, name...)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(off))
	dst = append(dst, data...)
	frame(dst[start:])
	return dst
}

// frame fills in the header of rec, a record whose body follows it.
func frame(rec []byte) {
	body := rec[recHeaderLen:]
	binary.LittleEndian.PutUint32(rec, uint32(len(body)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(body, castagnoli))
}

// errTornRecord marks the end of a log's valid records: an incomplete or
// damaged final record (a write the crash interrupted, never acknowledged).
var errTornRecord = errors.New("torn record")

// decodeCommitRecord decodes the record at the start of b and returns it
// with its encoded length. data aliases b.
func decodeCommitRecord(b []byte) (commitRecord, int, error) {
	if len(b) < recHeaderLen {
		return commitRecord{}, 0, errTornRecord
	}
	n := binary.LittleEndian.Uint32(b)
	if n > maxCommitBody || int64(n) > int64(len(b)-recHeaderLen) {
		return commitRecord{}, 0, errTornRecord
	}
	body := b[recHeaderLen : recHeaderLen+int(n)]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return commitRecord{}, 0, errTornRecord
	}
	r, err := parseCommitBody(body)
	if err != nil {
		return r, 0, err
	}
	return r, recHeaderLen + int(n), nil
}

// parseCommitBody decodes a record's body (its checksum already checked).
func parseCommitBody(body []byte) (commitRecord, error) {
	var r commitRecord
	if len(body) < 2 || body[0] != kindAppend {
		return r, fmt.Errorf("unknown record kind")
	}
	p := 1
	field := func() (string, bool) {
		if p >= len(body) {
			return "", false
		}
		l := int(body[p])
		p++
		if len(body)-p < l {
			return "", false
		}
		s := string(body[p : p+l])
		p += l
		return s, true
	}
	var ok1, ok2 bool
	r.id, ok1 = field()
	r.name, ok2 = field()
	if !ok1 || !ok2 || len(body)-p < 8 {
		return r, fmt.Errorf("truncated record body")
	}
	r.off = int64(binary.LittleEndian.Uint64(body[p:]))
	r.data = body[p+8:]
	switch {
	case r.id == "" || !ValidName(r.name):
		return r, fmt.Errorf("record names no valid session (%q, %q)", r.id, r.name)
	case r.off < 0 || len(r.data) == 0:
		return r, fmt.Errorf("record of session %s has offset %d and %d bytes", r.name, r.off, len(r.data))
	}
	return r, nil
}

// describeDamaged names, as well as the damage allows, what the record
// at the start of b (whose checksum fails) was about.
func describeDamaged(b []byte) string {
	n := int(binary.LittleEndian.Uint32(b))
	if r, err := parseCommitBody(b[recHeaderLen : recHeaderLen+n]); err == nil {
		return fmt.Sprintf(" (it reads as session %s's journal at offset %d, %d bytes)", r.name, r.off, len(r.data))
	}
	return ""
}

// decodeCommitLog decodes a log file. Decoding stops at a torn record,
// whose length (with everything after it) is returned as torn; any other
// malformed record is an error.
func decodeCommitLog(b []byte) (recs []commitRecord, torn int, err error) {
	if len(b) < len(commitMagic) {
		// The file was created but its first write did not complete.
		return nil, len(b), nil
	}
	if allZero(b[:len(commitMagic)]) {
		// A file made ready for use, whose first write never completed.
		if allZero(b) {
			return nil, 0, nil
		}
		return nil, len(b), nil
	}
	if string(b[:len(commitMagic)]) != commitMagic {
		return nil, 0, errors.New("not a session commit log (bad magic)")
	}
	p := len(commitMagic)
	for p < len(b) {
		if allZero(b[p:min(p+recHeaderLen, len(b))]) {
			// The end of the records in a log file written with zeros
			// beforehand; anything but zeros after it is a torn write.
			if allZero(b[p:]) {
				return recs, 0, nil
			}
			return recs, len(b) - p, nil
		}
		r, n, err := decodeCommitRecord(b[p:])
		if errors.Is(err, errTornRecord) {
			if !tornWrite(b, p) {
				return recs, 0, fmt.Errorf("offset %d: damaged record (checksum mismatch) that no interrupted write explains%s", p, describeDamaged(b[p:]))
			}
			return recs, len(b) - p, nil
		}
		if err != nil {
			return recs, 0, fmt.Errorf("offset %d: %w", p, err)
		}
		recs = append(recs, r)
		p += n
	}
	return recs, 0, nil
}

// sectorSize is the unit a disk writes whole: after a crash each sector
// of an interrupted write holds either its new bytes or its old ones.
const sectorSize = 512

// tornWrite tells whether the damaged record at p can be a write a crash
// interrupted rather than corruption: the log's last batch is the only
// one not yet synced, and its unwritten sectors read as what was there
// before — zeros, as log files are written with zeros ahead of use (or
// nothing, past the end of a file that was growing). A record that
// reaches past the end of b, or overlaps a sector of zeros, is torn; one
// whose every sector was written but whose checksum fails is corrupt
// (records never hold a sector of zeros: journal lines are text).
func tornWrite(b []byte, p int) bool {
	if len(b)-p < recHeaderLen {
		return true
	}
	end := int64(p) + recHeaderLen + int64(binary.LittleEndian.Uint32(b[p:]))
	if end > int64(len(b)) {
		return true
	}
	for s := p / sectorSize * sectorSize; int64(s) < end; s += sectorSize {
		if allZero(b[s:min(s+sectorSize, len(b))]) {
			return true
		}
	}
	return false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// listGens returns the generations present in dir, oldest first.
func listGens(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var gens []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), commitExt)
		if !ok || e.IsDir() {
			continue
		}
		g, err := strconv.ParseUint(name, 16, 64)
		if err != nil || genName(g) != e.Name() {
			continue
		}
		gens = append(gens, g)
	}
	slices.Sort(gens)
	return gens, nil
}

// replayCommitLog makes every journal durably hold what the log files of
// gens in dir say was committed, then removes those files. It is run by
// whoever holds the log's lock with no committer running: at
// OpenCommitter, or by Open when a committer died without closing.
//
// For each session (by name and id) the log's records cover a contiguous
// range [first, end) of its journal; everything before first was made
// durable before the oldest log file still present was retired. The
// journal's bytes in the range are rewritten from the log (whatever the
// crash left there — a torn line, or blocks never written — is replaced)
// and the file is cut at end: bytes after it were never acknowledged.
func replayCommitLog(home, dir string, gens []uint64, log *slog.Logger) error {
	type target struct {
		name, id string
		recs     []commitRecord
	}
	var order []*target
	byName := map[string]*target{}
	tornIn := "" // the file whose end a crash interrupted
	for _, g := range gens {
		path := filepath.Join(dir, genName(g))
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("session: recovering the commit log: %w", err)
		}
		recs, torn, err := decodeCommitLog(b)
		if err != nil {
			return fmt.Errorf("%w: commit log %s: %w", ErrCorrupt, path, err)
		}
		if tornIn != "" && (len(recs) > 0 || torn > 0) {
			// A file is started only once every batch of the previous
			// one was synced: only the newest can end in a torn write.
			return fmt.Errorf("%w: commit log %s ends in a damaged record, yet the newer %s was written after it was synced",
				ErrCorrupt, tornIn, path)
		}
		if torn > 0 {
			tornIn = path
			log.Warn("session: commit log ends with an incomplete record left by a crash; it was never acknowledged",
				"file", path, "bytes", torn)
		}
		for _, r := range recs {
			t := byName[r.name]
			if t == nil {
				t = &target{name: r.name}
				byName[r.name] = t
				order = append(order, t)
			}
			t.recs = append(t.recs, r)
		}
	}
	for _, t := range order {
		n, err := replaySession(home, t.name, t.recs)
		if err != nil {
			return err
		}
		if n > 0 {
			log.Info("session: journal restored from the commit log after a crash", "session", t.name, "records", n)
		}
	}
	for _, g := range gens {
		if err := os.Remove(filepath.Join(dir, genName(g))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("session: retiring the commit log: %w", err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("session: retiring the commit log: %w", err)
	}
	return nil
}

// replaySession rewrites session name's journal from recs (those of its
// current incarnation) and returns how many records applied. A session
// that no longer exists, or was created again since, is skipped.
func replaySession(home, name string, recs []commitRecord) (int, error) {
	dir, err := Path(home, name)
	if err != nil {
		return 0, err
	}
	meta, err := readMeta(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil // removed since
	}
	if err != nil {
		return 0, fmt.Errorf("session %s: recovering from the commit log: %w", name, err)
	}
	recs = slices.DeleteFunc(slices.Clone(recs), func(r commitRecord) bool { return r.id != meta.ID })
	if len(recs) == 0 {
		return 0, nil
	}
	for i := 1; i < len(recs); i++ {
		if want := recs[i-1].off + int64(len(recs[i-1].data)); recs[i].off != want {
			return 0, fmt.Errorf("%w: commit log: session %s: record at offset %d follows one ending at %d", ErrCorrupt, name, recs[i].off, want)
		}
	}
	lock, err := lockFile(filepath.Join(dir, LockFile))
	if err != nil {
		return 0, fmt.Errorf("session %s: recovering from the commit log: %w", name, err)
	}
	defer unlockFile(lock)
	f, err := os.OpenFile(filepath.Join(dir, JournalFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("session %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("session %s: %w", name, err)
	}
	if first := recs[0].off; fi.Size() < first {
		return 0, fmt.Errorf("%w: %s: journal is %d bytes, but its first %d were durable", ErrCorrupt, f.Name(), fi.Size(), first)
	}
	for _, r := range recs {
		if _, err := f.WriteAt(r.data, r.off); err != nil {
			return 0, fmt.Errorf("session %s: recovering from the commit log: %w", name, err)
		}
	}
	// After the logged range the journal holds what was written after
	// the last acknowledged record: the unacknowledged tail of the crashed
	// committer's last batch (whole or torn, or with blocks never written)
	// — or steps written and fsynced without the committer once the
	// session was closed (weft, while the daemon ran). Whole consistent
	// records are kept; the journal is cut at the first record that is
	// not one.
	last := recs[len(recs)-1]
	end := last.off + int64(len(last.data))
	cut, err := validEnd(f, meta.format(), end)
	if err != nil {
		return 0, fmt.Errorf("session %s: recovering from the commit log: %w", name, err)
	}
	if err := f.Truncate(cut); err != nil {
		return 0, fmt.Errorf("session %s: recovering from the commit log: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("session %s: recovering from the commit log: %w", name, err)
	}
	return len(recs), nil
}

// validEnd scans journal f and returns the end of its whole, consistent
// records, which must reach at least end (the logged range, just
// rewritten): a bad record before end is corruption.
func validEnd(f *os.File, format int, end int64) (int64, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	res, err := scan(f, f.Name(), format, false)
	good := res.good
	var cerr *CorruptError
	if errors.As(err, &cerr) {
		if cerr.Offset < end {
			return 0, err
		}
		good = cerr.Offset
	} else if err != nil {
		return 0, err
	}
	if good < end {
		return 0, fmt.Errorf("%w: %s: records end at offset %d, but the commit log wrote up to %d", ErrCorrupt, f.Name(), good, end)
	}
	return good, nil
}

// recoverAbandoned replays a commit log left by a committer that did not
// close (a crash). Open calls it before opening a session without a
// committer. While a committer runs on the home (another process, or this
// one) the log is its own and nothing is replayed: a session it has open
// is locked, and one it has closed was fsynced by Close, so it may be
// written on its own (a later replay keeps what was appended after the
// logged records).
func recoverAbandoned(home string, log *slog.Logger) error {
	dir := commitDir(home)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil // no committer ever ran here
	}
	lock, err := filelock.Lock(filepath.Join(dir, commitLock))
	if errors.Is(err, filelock.ErrLocked) {
		return nil // a live committer's log
	}
	if err != nil {
		return fmt.Errorf("session: commit log: %w", err)
	}
	defer filelock.Unlock(lock)
	gens, err := listGens(dir)
	if err != nil {
		return fmt.Errorf("session: commit log: %w", err)
	}
	if len(gens) == 0 {
		return nil
	}
	return replayCommitLog(home, dir, gens, log)
}
