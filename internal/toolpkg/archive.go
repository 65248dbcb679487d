package toolpkg

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
)

// ErrArchive is wrapped by every archive extraction error.
var ErrArchive = errors.New("unsafe or invalid tool archive")

// ArchiveLimits bounds an extraction. Zero fields take the defaults.
type ArchiveLimits struct {
	MaxFiles      int   // default 1000
	MaxFileBytes  int64 // default 64 MiB
	MaxTotalBytes int64 // default 128 MiB (decompressed)
}

func (l ArchiveLimits) withDefaults() ArchiveLimits {
	if l.MaxFiles <= 0 {
		l.MaxFiles = 1000
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = 64 << 20
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = 128 << 20
	}
	return l
}

// capReader fails once more than n bytes have been read, bounding the
// decompressed size (a gzip bomb stops here, not on the disk).
type capReader struct {
	r io.Reader
	n int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, fmt.Errorf("decompressed archive exceeds size limit: %w", ErrArchive)
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

// entryName validates and normalises an archive member name.
func entryName(name string) (string, error) {
	n := strings.TrimPrefix(name, "./")
	n = strings.TrimSuffix(n, "/")
	switch {
	case n == "" || n == ".":
		return "", nil // the archive root itself
	case strings.ContainsRune(n, 0) || strings.Contains(n, `\`):
		return "", fmt.Errorf("entry %q: invalid characters: %w", name, ErrArchive)
	case path.IsAbs(n):
		return "", fmt.Errorf("entry %q: absolute path: %w", name, ErrArchive)
	case path.Clean(n) != n:
		return "", fmt.Errorf("entry %q: path is not clean: %w", name, ErrArchive)
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return "", fmt.Errorf("entry %q: contains '..': %w", name, ErrArchive)
		}
	}
	return n, nil
}

// Extract unpacks a gzip-compressed tar stream into dst, which is created
// if needed and must be empty. Only regular files and directories are
// accepted: symlinks, hard links, devices and FIFOs are refused, as are
// absolute names, ".." elements, duplicate entries and anything past the
// limits. Writes go through an os.Root on dst, so nothing can land
// outside it even if the checks above missed a case. On error dst may hold
// a partial extraction; the caller removes it.
func Extract(r io.Reader, dst string, lim ArchiveLimits) error {
	lim = lim.withDefaults()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	if ents, err := os.ReadDir(dst); err != nil || len(ents) > 0 {
		return fmt.Errorf("extract: destination %s is not an empty directory: %w", dst, ErrArchive)
	}
	root, err := os.OpenRoot(dst)
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer root.Close()
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("extract: not gzip: %v: %w", err, ErrArchive)
	}
	defer gz.Close()
	// Headers and padding count towards the cap too.
	tr := tar.NewReader(&capReader{r: gz, n: lim.MaxTotalBytes + int64(lim.MaxFiles+2)*1024})
	seen := map[string]bool{}
	var total int64
	for files := 0; ; files++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if errors.Is(err, ErrArchive) {
				return fmt.Errorf("extract: %w", err)
			}
			return fmt.Errorf("extract: %v: %w", err, ErrArchive)
		}
		if files >= lim.MaxFiles {
			return fmt.Errorf("extract: more than %d entries: %w", lim.MaxFiles, ErrArchive)
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return fmt.Errorf("extract: %w", err)
		}
		if name == "" {
			continue
		}
		if seen[name] {
			return fmt.Errorf("extract: duplicate entry %q: %w", name, ErrArchive)
		}
		seen[name] = true
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("extract: %s: %v: %w", name, err, ErrArchive)
			}
		case tar.TypeReg:
			if hdr.Size < 0 || hdr.Size > lim.MaxFileBytes {
				return fmt.Errorf("extract: %s is %d bytes, limit %d: %w", name, hdr.Size, lim.MaxFileBytes, ErrArchive)
			}
			if total += hdr.Size; total > lim.MaxTotalBytes {
				return fmt.Errorf("extract: archive content exceeds %d bytes: %w", lim.MaxTotalBytes, ErrArchive)
			}
			if err := writeEntry(root, name, tr, hdr.Size); err != nil {
				return fmt.Errorf("extract: %s: %w", name, err)
			}
		default:
			return fmt.Errorf("extract: %s: entry type %q (links and special files are not allowed): %w", name, hdr.Typeflag, ErrArchive)
		}
	}
}

func writeEntry(root *os.Root, name string, r io.Reader, size int64) error {
	if dir := path.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("%v: %w", err, ErrArchive)
		}
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("%v: %w", err, ErrArchive)
	}
	n, err := io.Copy(f, io.LimitReader(r, size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%v: %w", err, ErrArchive)
	}
	if n != size {
		return fmt.Errorf("truncated entry: %w", ErrArchive)
	}
	return nil
}
