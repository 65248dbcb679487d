package chain

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Store directory layout (docs/EXOCHAIN.md, "Storage layout").
const (
	keysFile        = "keys.json"
	stateFile       = "state.json"
	indexFile       = "index.dat"
	treeFile        = "tree.dat"
	checkpointsFile = "checkpoints.dat"
	lockFile        = "LOCK"
	segmentSuffix   = ".seg"

	indexWidth = 12 // u32 segment, u32 offset, u32 frame length
	cpWidth    = 20 // u64 size, u32 segment, u32 offset, u32 frame length
)

func segmentName(n uint32) string { return fmt.Sprintf("%08d%s", n, segmentSuffix) }

// listSegments returns the segment numbers in dir, ascending, and fails
// with ErrCorrupt unless they run contiguously from 0.
func listSegments(dir string) ([]uint32, error) {
	nums, err := listSegmentNames(dir)
	if err != nil {
		return nil, err
	}
	for i := range nums {
		if nums[i] != uint32(i) {
			return nil, fmt.Errorf("%w: segment files are not numbered contiguously from 0 (missing %s)", ErrCorrupt, segmentName(uint32(i)))
		}
	}
	return nums, nil
}

func listSegmentNames(dir string) ([]uint32, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("chain: read dir: %w", err)
	}
	var nums []uint32
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), segmentSuffix)
		if !ok || len(name) != 8 {
			continue
		}
		n, err := strconv.ParseUint(name, 10, 32)
		if err != nil {
			continue
		}
		nums = append(nums, uint32(n))
	}
	slices.Sort(nums)
	return nums, nil
}

// persistedState is state.json: how far the derived files (index, tree,
// checkpoint index) were synced, with the root and head at that point so a
// restart can check them.
type persistedState struct {
	Events      uint64 `json:"events"`
	Checkpoints uint64 `json:"checkpoints"`
	Segment     uint32 `json:"segment"`
	Offset      int64  `json:"offset"`
	Root        Hash   `json:"root"`
	Head        Hash   `json:"head"`
}

func readState(dir string) (persistedState, error) {
	var st persistedState
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("chain: read state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return persistedState{}, fmt.Errorf("%w: state.json: %v", ErrFormat, err)
	}
	return st, nil
}

// writeFileAtomic writes data to dir/name via a synced temporary file and a
// rename, then syncs the directory.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp := filepath.Join(dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("chain: write %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("chain: write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("chain: sync %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("chain: close %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("chain: rename %s: %w", name, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("chain: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("chain: sync dir: %w", err)
	}
	return nil
}

// ReadChainInfo reads keys.json from a store directory.
func ReadChainInfo(dir string) (ChainInfo, error) {
	b, err := os.ReadFile(filepath.Join(dir, keysFile))
	if err != nil {
		return ChainInfo{}, fmt.Errorf("chain: read %s: %w", keysFile, err)
	}
	var info ChainInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return ChainInfo{}, err
	}
	return info, nil
}

// store is the read side shared by Log and Reader. Derived tables are read
// only below the published counts, which the writer updates under mu after
// the data is in the files.
type store struct {
	dir      string
	info     ChainInfo
	writable bool
	logger   *slog.Logger

	index *table
	tree  *table
	cps   *table

	mu     sync.RWMutex
	size   uint64
	head   Hash
	ncp    uint64
	latest *Checkpoint
	segNo  uint32 // segment holding the end of the published data
	segEnd int64  // offset after the last published record
	cpWait chan struct{}
	recent recentEvents // the events acknowledged last (writable stores)

	segMu    sync.Mutex
	segFiles map[uint32]*os.File
	closed   bool

	repairs []string // derived files rebuilt at open, and why
}

// Repairs lists the derived files (index, tree, checkpoint index, state)
// that Open found inconsistent with the segments and rebuilt from them,
// with the reason. Nothing acknowledged is lost by a repair: the segments
// are the source of truth. Callers should record the repairs (the daemon
// appends a chain.repair event).
func (s *store) Repairs() []string { return append([]string(nil), s.repairs...) }

// recovered is what opening a store learns beyond the published state.
type recovered struct {
	compact   compactRange
	segSize   int64 // valid length of the last segment
	segHeader bool  // whether the last segment has its header record
}

func (s *store) segFile(n uint32) (*os.File, error) {
	s.segMu.Lock()
	defer s.segMu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if f, ok := s.segFiles[n]; ok {
		return f, nil
	}
	f, err := os.Open(filepath.Join(s.dir, segmentName(n)))
	if err != nil {
		return nil, fmt.Errorf("chain: open segment: %w", err)
	}
	if s.segFiles == nil {
		s.segFiles = map[uint32]*os.File{}
	}
	s.segFiles[n] = f
	return f, nil
}

func (s *store) closeFiles() error {
	s.segMu.Lock()
	s.closed = true
	var errs []error
	for _, f := range s.segFiles {
		errs = append(errs, f.Close())
	}
	s.segFiles = nil
	s.segMu.Unlock()
	for _, t := range []*table{s.index, s.tree, s.cps} {
		if t != nil {
			errs = append(errs, t.close())
		}
	}
	return errors.Join(errs...)
}

// readRecord reads and checks the frame at (segment, offset, length).
func (s *store) readRecord(seg, off, n uint32) ([]byte, error) {
	f, err := s.segFile(seg)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, int64(off)); err != nil && !(errors.Is(err, io.EOF) && len(buf) == int(n)) {
		return nil, fmt.Errorf("chain: read %s@%d: %w", segmentName(seg), off, err)
	}
	body, l, _, reason := checkFrame(buf)
	if reason == "" && l != int(n) {
		reason = fmt.Sprintf("frame length %d where the index says %d", l, n)
	}
	if reason != "" {
		return nil, &Problem{Kind: ProblemCorruptRecord, Segment: segmentName(seg), Offset: int64(off), Detail: reason}
	}
	return body, nil
}

// openStore opens the derived tables, checks every record below
// state.json against the segments (verifyPrefix), and scans the segments
// written after it. Derived files that disagree with intact segments are
// rebuilt; damage to the segments, including the loss of acknowledged
// records, is an error wrapping ErrCorrupt with the precise *Problem. A
// torn tail of unacknowledged records is truncated (writable) or ignored
// (read-only).
func openStore(dir string, info ChainInfo, writable bool, logger *slog.Logger) (*store, recovered, error) {
	s := &store{dir: dir, info: info, writable: writable, logger: logger, cpWait: make(chan struct{})}
	st, err := readState(dir)
	if errors.Is(err, ErrFormat) {
		s.repairs = append(s.repairs, "state.json unreadable ("+err.Error()+"): rebuilt from the segments")
		st = persistedState{}
	} else if err != nil {
		return nil, recovered{}, err
	}
	// The acknowledged bound is read before any table is opened: opening
	// truncates rows beyond state.json, and a reader must not count rows a
	// live writer adds after it has scanned.
	acked := readAckedHead(dir, st)
	rec, err := s.load(st, acked)
	if err != nil && errors.Is(err, errStaleState) {
		logger.Warn("chain: derived files do not match the segments; rebuilding them from the segments", "dir", dir, "err", err)
		s.repairs = append(s.repairs, strings.TrimPrefix(err.Error(), errStaleState.Error()+": ")+": index, tree and checkpoint index rebuilt from the segments")
		s.closeFiles() //nolint:errcheck // reopened below
		s.closed = false
		rec, err = s.load(persistedState{}, acked)
	}
	if err == nil && writable {
		for _, t := range []*table{s.index, s.tree, s.cps} {
			if err = t.trimTail(); err != nil {
				break
			}
		}
	}
	if err != nil {
		s.closeFiles() //nolint:errcheck // already failing
		return nil, recovered{}, err
	}
	return s, rec, nil
}

var errStaleState = errors.New("derived files stale")

func (s *store) load(st persistedState, acked ackedHead) (recovered, error) {
	var err error
	if s.index, err = openTable(filepath.Join(s.dir, indexFile), indexWidth, s.writable, st.Events); err != nil {
		return recovered{}, fmt.Errorf("%w: %w", errStaleState, err)
	}
	if s.tree, err = openTable(filepath.Join(s.dir, treeFile), HashSize, s.writable, treeEntries(st.Events)); err != nil {
		return recovered{}, fmt.Errorf("%w: %w", errStaleState, err)
	}
	if s.cps, err = openTable(filepath.Join(s.dir, checkpointsFile), cpWidth, s.writable, st.Checkpoints); err != nil {
		return recovered{}, fmt.Errorf("%w: %w", errStaleState, err)
	}
	// The segments first: damage there is an error whatever the derived
	// files say; derived files that disagree are stale.
	if st.Events > 0 || st.Checkpoints > 0 {
		p, stale, err := s.verifyPrefix(st)
		switch {
		case err != nil:
			return recovered{}, err
		case p != nil:
			return recovered{}, corrupt(p)
		case stale != "":
			return recovered{}, fmt.Errorf("%w: %s", errStaleState, stale)
		}
	}
	s.size, s.ncp, s.segNo, s.segEnd = st.Events, st.Checkpoints, st.Segment, st.Offset
	s.head, s.latest = Hash{}, nil
	compact, err := compactFromSource(fileTree{s.tree}, st.Events)
	if err != nil {
		return recovered{}, fmt.Errorf("%w: %w", errStaleState, err)
	}
	if st.Events > 0 {
		if compact.root() != st.Root {
			return recovered{}, fmt.Errorf("%w: tree root at %d differs from state.json", errStaleState, st.Events)
		}
		e, err := s.get(st.Events - 1)
		if err != nil || e.Hash != st.Head {
			return recovered{}, fmt.Errorf("%w: head event %d differs from state.json (%v)", errStaleState, st.Events-1, err)
		}
		s.head = e.Hash
	}
	if st.Checkpoints > 0 {
		cp, err := s.checkpointAt(st.Checkpoints - 1)
		if err != nil {
			return recovered{}, fmt.Errorf("%w: %w", errStaleState, err)
		}
		s.latest = &cp
	}
	return s.scan(compact, acked)
}

// scan replays the records after the persisted state into the tables.
func (s *store) scan(compact compactRange, acked ackedHead) (recovered, error) {
	nums, err := listSegments(s.dir)
	if err != nil {
		return recovered{}, err
	}
	rec := recovered{compact: compact}
	if len(nums) == 0 {
		if s.size > 0 || acked.events > 0 {
			return recovered{}, corrupt(&Problem{Kind: ProblemMissingSegment, Segment: segmentName(0),
				Detail: fmt.Sprintf("no segment files, but %d events were acknowledged (per %s)", max(s.size, acked.events), acked.source)})
		}
		return rec, nil
	}
	if s.segNo > nums[len(nums)-1] {
		return recovered{}, fmt.Errorf("%w: state.json refers to missing %s", ErrCorrupt, segmentName(s.segNo))
	}
	tree := fileTree{s.tree}
	emit := func(level uint, index uint64, h Hash) { s.tree.add(h[:]) }
	for _, n := range nums[s.segNo:] {
		last := n == nums[len(nums)-1]
		start := int64(0)
		if n == s.segNo {
			start = s.segEnd
		}
		f, err := s.segFile(n)
		if err != nil {
			return recovered{}, err
		}
		st, err := f.Stat()
		if err != nil {
			return recovered{}, fmt.Errorf("chain: stat %s: %w", segmentName(n), err)
		}
		fr := newFrameReader(io.NewSectionReader(f, start, 1<<62), start, st.Size()-start)
		hasHeader := start > 0
		end := start
		for {
			off, body, err := fr.next()
			if err == io.EOF {
				break
			}
			var fe *frameError
			if errors.As(err, &fe) {
				if !last {
					kind := ProblemCorruptRecord
					if fe.Torn {
						kind = ProblemTruncated
					}
					return recovered{}, corrupt(&Problem{Kind: kind, Seq: s.size, Segment: segmentName(n), Offset: off, Detail: fe.Reason})
				}
				tail, rerr := io.ReadAll(io.NewSectionReader(f, off, 1<<62))
				if rerr != nil {
					return recovered{}, fmt.Errorf("chain: read tail of %s: %w", segmentName(n), rerr)
				}
				p := tailDamage(segmentName(n), off, s.size, s.ncp, fe, tail, acked)
				if p.Kind != ProblemTornTail {
					return recovered{}, corrupt(p)
				}
				if err := s.truncateTail(n, off, int64(len(tail)), fe); err != nil {
					return recovered{}, err
				}
				break
			}
			if err != nil {
				return recovered{}, fmt.Errorf("chain: read %s: %w", segmentName(n), err)
			}
			where := func(e error) error {
				kind := ProblemMalformed
				switch {
				case errors.Is(e, errHeaderMismatch):
					kind = ProblemSegmentHeader
				case errors.Is(e, errDiscontinuity):
					kind = ProblemBrokenLink
				}
				return corrupt(&Problem{Kind: kind, Seq: s.size, Segment: segmentName(n), Offset: off, Detail: e.Error()})
			}
			frameLen := uint32(fr.off - off)
			switch body[0] {
			case recSegment:
				h, err := decodeSegmentHeader(body)
				if err != nil {
					return recovered{}, where(err)
				}
				if off != 0 || h.Number != n || h.FirstSeq != s.size || h.ChainID != s.info.ChainID || h.Origin != s.info.Origin {
					return recovered{}, where(fmt.Errorf("%w: segment header %+v does not fit (expected seq %d)", errHeaderMismatch, h, s.size))
				}
				hasHeader = true
			case recEvent:
				if !hasHeader {
					return recovered{}, where(fmt.Errorf("%w: event before segment header", errHeaderMismatch))
				}
				e, err := decodeEvent(body)
				if err != nil {
					return recovered{}, where(err)
				}
				if e.Seq != s.size || e.PrevHash != s.head || e.ChainID != s.info.ChainID || EventHash(&e) != e.Hash {
					return recovered{}, where(fmt.Errorf("%w: event %d does not continue the chain at %d", errDiscontinuity, e.Seq, s.size))
				}
				var ent [indexWidth]byte
				binary.LittleEndian.PutUint32(ent[0:], n)
				binary.LittleEndian.PutUint32(ent[4:], uint32(off))
				binary.LittleEndian.PutUint32(ent[8:], frameLen)
				s.index.add(ent[:])
				compact.appendLeaf(LeafHash(e.Hash), emit)
				s.size++
				s.head = e.Hash
			case recCheckpoint:
				cp, err := decodeCheckpoint(body)
				if err != nil {
					return recovered{}, where(err)
				}
				if err := s.flushTables(); err != nil {
					return recovered{}, err
				}
				if cp.Size > s.size || cp.Size == 0 || (s.latest != nil && cp.Size < s.latest.Size) {
					return recovered{}, where(fmt.Errorf("checkpoint size %d out of order (events %d)", cp.Size, s.size))
				}
				root, err := subtreeHash(tree, 0, cp.Size)
				if err != nil {
					return recovered{}, where(err)
				}
				if root != cp.Root {
					return recovered{}, where(fmt.Errorf("checkpoint root for size %d does not match the events", cp.Size))
				}
				var ent [cpWidth]byte
				binary.LittleEndian.PutUint64(ent[0:], cp.Size)
				binary.LittleEndian.PutUint32(ent[8:], n)
				binary.LittleEndian.PutUint32(ent[12:], uint32(off))
				binary.LittleEndian.PutUint32(ent[16:], frameLen)
				s.cps.add(ent[:])
				s.ncp++
				s.latest = &cp
			}
			end = fr.off
		}
		s.segNo, s.segEnd = n, end
		if last {
			rec.segSize, rec.segHeader = end, hasHeader
		}
	}
	rec.compact = compact
	if p := tailDamage(segmentName(nums[len(nums)-1]), rec.segSize, s.size, s.ncp, nil, nil, acked); p != nil {
		return recovered{}, corrupt(p)
	}
	return rec, s.flushTables()
}

var (
	errHeaderMismatch = errors.New("segment header mismatch")
	errDiscontinuity  = errors.New("chain discontinuity")
)

func (s *store) flushTables() error {
	for _, t := range []*table{s.index, s.tree, s.cps} {
		if err := t.flush(); err != nil {
			return err
		}
	}
	return nil
}

// truncateTail removes a torn tail (writable) or ignores it (read-only).
func (s *store) truncateTail(n uint32, off, tailLen int64, fe *frameError) error {
	if !s.writable {
		s.logger.Debug("chain: ignoring incomplete tail", "segment", segmentName(n), "offset", off, "bytes", tailLen)
		return nil
	}
	s.logger.Warn("chain: truncating torn tail", "segment", segmentName(n), "offset", off, "bytes", tailLen, "reason", fe.Reason)
	f, err := os.OpenFile(filepath.Join(s.dir, segmentName(n)), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("chain: truncate tail: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(off); err != nil {
		return fmt.Errorf("chain: truncate tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("chain: truncate tail: %w", err)
	}
	return nil
}
