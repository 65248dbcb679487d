package memory

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/zeebo/blake3"
)

// DefaultMaxFileBytes is the largest file Ingest reads by default.
const DefaultMaxFileBytes = 8 << 20

// ingestBatch is the number of chunks per PutMany call.
const ingestBatch = 64

// DefaultExtensions are the file extensions Ingest picks up inside
// folders: markdown, text and common source code and configuration.
// Files named explicitly are ingested whatever their extension.
var DefaultExtensions = []string{
	".md", ".markdown", ".mdx", ".txt", ".text", ".rst", ".adoc", ".org",
	".go", ".py", ".js", ".jsx", ".ts", ".tsx", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp",
	".java", ".kt", ".swift", ".rb", ".php", ".cs", ".scala", ".lua", ".sh", ".bash", ".zsh",
	".sql", ".proto", ".toml", ".yaml", ".yml", ".json", ".html", ".css", ".tex",
}

// skippedDirs are never descended into.
var skippedDirs = map[string]bool{".git": true, ".hg": true, ".svn": true}

// IngestOptions configures Ingest.
type IngestOptions struct {
	// MaxChars is the chunk size (default DefaultChunkChars).
	MaxChars int
	// Meta is stored with every chunk; Source is set to the file's
	// absolute path.
	Meta Meta
	// ChainSeq is stored with every chunk.
	ChainSeq uint64
	// MaxFileBytes skips larger files (default DefaultMaxFileBytes).
	MaxFileBytes int64
	// Extensions overrides DefaultExtensions (lower case, with the dot).
	Extensions []string
	// Store, when set, stores each batch of a document's chunks (up to
	// IngestBatchSize): it must call put exactly once, with the chain seq
	// the records are to carry (ChainSeq is then ignored), and return what
	// put returned — so that the caller can make each batch a governed,
	// recorded act that names the records it stored.
	Store func(ctx context.Context, b IngestBatch, put PutFunc) ([]PutResult, error)
	// Ledger names the set of files already ingested that a re-run skips
	// ("" for plain ingests): a file ingested under one ledger is ingested
	// again under another (ECC's analysis of a file already in memory).
	Ledger string
}

// IngestBatchSize is the most chunks one batch (one PutMany, one
// IngestOptions.Store call) holds.
const IngestBatchSize = ingestBatch

// PutFunc stores a batch with the records carrying chainSeq.
type PutFunc func(ctx context.Context, chainSeq uint64) ([]PutResult, error)

// IngestBatch is one batch of a document's chunks.
type IngestBatch struct {
	Path  string   // the file, absolute
	Hash  string   // BLAKE3-256 of the file's bytes, hex
	First int      // index of the batch's first chunk in the document
	Total int      // the document's chunks
	Texts []string // the chunks
}

// IngestProgress is reported after each file.
type IngestProgress struct {
	Path       string `json:"path"`       // file just processed
	FilesDone  int    `json:"files_done"` // files processed so far (ingested, unchanged or skipped)
	FilesTotal int    `json:"files_total"`
	BytesDone  int64  `json:"bytes_done"`
	BytesTotal int64  `json:"bytes_total"`
	Chunks     int    `json:"chunks"`  // chunks stored so far (new or already present)
	Created    int    `json:"created"` // of which new records
}

// IngestResult summarises an Ingest.
type IngestResult struct {
	Files     int `json:"files"`     // candidate files found
	Ingested  int `json:"ingested"`  // files chunked and stored
	Unchanged int `json:"unchanged"` // files skipped because already ingested with this content
	Skipped   int `json:"skipped"`   // binary, too large or unreadable files
	Chunks    int `json:"chunks"`    // chunks stored (new or already present)
	Created   int `json:"created"`   // new records
	// Notes explains each skipped file and chunk.
	Notes []string `json:"notes,omitempty"`
}

// ingestedFile is the JSON value of bucketIngested.
type ingestedFile struct {
	Size    int64  `json:"size"`
	ModTime int64  `json:"mtime_ns"`
	Hash    string `json:"blake3"`
	Chunks  int    `json:"chunks"`
}

type candidate struct {
	path string // absolute
	size int64
}

// Ingest stores the files and folders under paths as chunks (see Chunk).
// Folders are walked recursively, skipping .git, .hg and .svn, symbolic
// links and files whose extension is not in opts.Extensions; binary files
// (a NUL byte or invalid UTF-8) and files over opts.MaxFileBytes are
// skipped. Each file whose chunks were all stored is recorded with its
// size, modification time and BLAKE3, so a re-run skips it unless it
// changed: Ingest is resumable after an interruption and cheap to repeat.
// Chunks of an earlier version of a changed file are kept. progress
// (optional) is called after each file.
func (s *Store) Ingest(ctx context.Context, paths []string, opts IngestOptions, progress func(IngestProgress)) (IngestResult, error) {
	var res IngestResult
	if opts.MaxChars <= 0 {
		opts.MaxChars = DefaultChunkChars
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	exts := opts.Extensions
	if exts == nil {
		exts = DefaultExtensions
	}
	files, err := collect(ctx, paths, exts)
	if err != nil {
		return res, err
	}
	res.Files = len(files)
	var p IngestProgress
	p.FilesTotal = len(files)
	for _, f := range files {
		p.BytesTotal += f.size
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if err := s.ingestFile(ctx, f.path, opts, &res); err != nil {
			return res, err
		}
		p.Path, p.Chunks, p.Created = f.path, res.Chunks, res.Created
		p.FilesDone++
		p.BytesDone += f.size
		if progress != nil {
			progress(p)
		}
	}
	return res, nil
}

// collect lists the candidate files under paths, sorted and de-duplicated.
func collect(ctx context.Context, paths []string, exts []string) ([]candidate, error) {
	seen := map[string]bool{}
	var out []candidate
	add := func(path string, size int64) {
		if !seen[path] {
			seen[path] = true
			out = append(out, candidate{path, size})
		}
	}
	for _, root := range paths {
		abs, err := filepath.Abs(root)
		if err != nil {
			return nil, fmt.Errorf("memory: ingest: %w", err)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("memory: ingest: %w", err)
		}
		if st.Mode().IsRegular() {
			add(abs, st.Size())
			continue
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("memory: ingest: %s: %w: not a file or folder", root, ErrInvalidOptions)
		}
		err = filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if d != nil && d.IsDir() && path != abs {
					return fs.SkipDir // unreadable folder: skip it, keep going
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() {
				if skippedDirs[d.Name()] && path != abs {
					return fs.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || !slices.Contains(exts, strings.ToLower(filepath.Ext(path))) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil // vanished since listed
			}
			add(path, info.Size())
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("memory: ingest: %w", err)
		}
	}
	slices.SortFunc(out, func(a, b candidate) int { return strings.Compare(a.path, b.path) })
	return out, nil
}

// ingestedKey is the key of path's record in bucketIngested.
func ingestedKey(ledger, path string) []byte {
	if ledger == "" {
		return []byte(path)
	}
	return []byte(ledger + "\x00" + path)
}

func (s *Store) readIngested(key []byte) (ingestedFile, bool, error) {
	var rec ingestedFile
	found := false
	err := s.view(func(tx kvTx) error {
		v := tx.Get(bucketIngested, key)
		if v == nil {
			return nil
		}
		found = true
		if err := json.Unmarshal(v, &rec); err != nil {
			found = false // unreadable record: ingest the file again
		}
		return nil
	})
	return rec, found, err
}

func (s *Store) writeIngested(key []byte, rec ingestedFile) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return s.update(func(tx kvTx) error { return tx.Put(bucketIngested, key, b) })
}

// view and update run a kv transaction unless the store is closed.
func (s *Store) view(fn func(kvTx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.kv.View(fn)
}

func (s *Store) update(fn func(kvTx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.kv.Update(fn)
}

func (s *Store) ingestFile(ctx context.Context, path string, opts IngestOptions, res *IngestResult) error {
	skip := func(why string) error {
		res.Skipped++
		res.Notes = append(res.Notes, path+": "+why)
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return skip(err.Error())
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return skip(err.Error())
	}
	key := ingestedKey(opts.Ledger, path)
	prev, found, err := s.readIngested(key)
	if err != nil {
		return fmt.Errorf("memory: ingest: %w", err)
	}
	if found && prev.Size == st.Size() && prev.ModTime == st.ModTime().UnixNano() {
		res.Unchanged++
		return nil
	}
	if st.Size() > opts.MaxFileBytes {
		return skip(fmt.Sprintf("larger than %d bytes", opts.MaxFileBytes))
	}
	data, err := io.ReadAll(io.LimitReader(f, opts.MaxFileBytes+1))
	if err != nil {
		return skip(err.Error())
	}
	if int64(len(data)) > opts.MaxFileBytes {
		return skip(fmt.Sprintf("larger than %d bytes", opts.MaxFileBytes))
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return skip("binary file")
	}
	sum := blake3.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	rec := ingestedFile{Size: st.Size(), ModTime: st.ModTime().UnixNano(), Hash: hash}
	if found && prev.Hash == hash { // touched, not changed
		rec.Chunks = prev.Chunks
		res.Unchanged++
		return s.writeIngested(key, rec)
	}
	chunks := Chunk(string(data), opts.MaxChars)
	meta := opts.Meta
	meta.Source = path
	for start := 0; start < len(chunks); start += ingestBatch {
		end := min(start+ingestBatch, len(chunks))
		put := func(ctx context.Context, seq uint64) ([]PutResult, error) {
			items := make([]Item, 0, end-start)
			for _, c := range chunks[start:end] {
				items = append(items, Item{Text: c, Meta: meta, ChainSeq: seq})
			}
			return s.PutMany(ctx, items)
		}
		var results []PutResult
		if opts.Store != nil {
			results, err = opts.Store(ctx, IngestBatch{Path: path, Hash: hash, First: start, Total: len(chunks), Texts: chunks[start:end]}, put)
		} else {
			results, err = put(ctx, opts.ChainSeq)
		}
		if err != nil {
			return fmt.Errorf("memory: ingest %s: %w", path, err)
		}
		for i, r := range results {
			switch {
			case r.Err == nil:
				res.Chunks++
				if r.Created {
					res.Created++
				}
			case errors.Is(r.Err, ErrNoEmbedding) || errors.Is(r.Err, ErrEmptyText):
				res.Notes = append(res.Notes, fmt.Sprintf("%s: chunk %d: %v", path, start+i, r.Err))
			default:
				return fmt.Errorf("memory: ingest %s: chunk %d: %w", path, start+i, r.Err)
			}
		}
	}
	rec.Chunks = len(chunks)
	res.Ingested++
	if err := s.writeIngested(key, rec); err != nil {
		return fmt.Errorf("memory: ingest: %w", err)
	}
	return nil
}
