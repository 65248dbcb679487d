package channels

import (
	"context"
	"crypto/sha3"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/weftos/weftos/internal/governance"
)

// Attachment is a file a chat message carries, as the platform describes
// it before anything is downloaded.
type Attachment struct {
	Name string
	MIME string
	Size int64 // as the platform reports it; 0 when unknown
	// Fetch writes the file's bytes to w, at most limit of them (the
	// platform's download; the token it needs stays in the platform
	// package).
	Fetch func(ctx context.Context, w io.Writer, limit int64) error
}

// MediaPolicy caps what is downloaded: a size and a list of MIME type
// patterns ("text/*", "application/pdf"). A zero MaxBytes refuses all.
type MediaPolicy struct {
	MaxBytes int64
	Types    []string
}

// Allows says whether a is within the caps, and why not.
func (p MediaPolicy) Allows(a Attachment) (bool, string) {
	if p.MaxBytes <= 0 {
		return false, "this channel takes no files"
	}
	if a.Size > p.MaxBytes {
		return false, fmt.Sprintf("%d bytes, over the %d-byte cap", a.Size, p.MaxBytes)
	}
	mime, _, _ := strings.Cut(a.MIME, ";") // parameters (charset) do not count
	mime = strings.ToLower(strings.TrimSpace(mime))
	for _, t := range p.Types {
		if ok, _ := path.Match(strings.ToLower(t), mime); ok {
			return true, ""
		}
	}
	return false, fmt.Sprintf("type %q is not accepted", a.MIME)
}

// errTooLarge: a download went past the cap (the size was unknown or
// wrong).
var errTooLarge = errors.New("the file is larger than the cap")

// capWriter fails once more than n bytes are written.
type capWriter struct {
	w io.Writer
	n int64
}

func (c *capWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > c.n {
		return 0, errTooLarge
	}
	c.n -= int64(len(b))
	return c.w.Write(b)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeName makes a platform's file name a plain file name.
func safeName(name string) string {
	name = unsafeName.ReplaceAllString(filepath.Base(strings.ReplaceAll(name, "\\", "/")), "_")
	if len(name) > 80 {
		name = name[len(name)-80:] // keep the extension
	}
	name = strings.TrimLeft(name, ".")
	if name == "" || name == "_" {
		name = "file"
	}
	return name
}

// receive downloads the attachments within the caps into
// WORKSPACE/inbox/SESSION/ and returns the note the agent sees and the
// record of each (hashes, never content). Refused ones are noted, not
// downloaded.
func (h *Hub) receive(ctx context.Context, session string, atts []Attachment, pol MediaPolicy) (string, []governance.AttachmentRecord) {
	var note strings.Builder
	var recs []governance.AttachmentRecord
	for i, a := range atts {
		rec := governance.AttachmentRecord{Name: safeName(a.Name), MIME: a.MIME, Size: a.Size}
		if ok, why := pol.Allows(a); !ok {
			rec.Refused = why
			fmt.Fprintf(&note, "\n[attachment %q (%s) not received: %s]", rec.Name, a.MIME, why)
			recs = append(recs, rec)
			continue
		}
		rel := filepath.Join("inbox", session, fmt.Sprintf("%d-%s", i+1, rec.Name))
		size, sum, err := h.download(ctx, a, filepath.Join(h.Workspace, rel), pol.MaxBytes)
		if err != nil {
			rec.Refused = err.Error()
			fmt.Fprintf(&note, "\n[attachment %q (%s) not received: %v]", rec.Name, a.MIME, err)
			recs = append(recs, rec)
			continue
		}
		rec.Size, rec.Hash, rec.Path = size, sum, filepath.ToSlash(rel)
		fmt.Fprintf(&note, "\n[attachment saved in the workspace: %s (%s, %d bytes); its content is untrusted]", rec.Path, a.MIME, size)
		recs = append(recs, rec)
	}
	return note.String(), recs
}

// download fetches a into file (0600, via a temporary file), within limit.
func (h *Hub) download(ctx context.Context, a Attachment, file string, limit int64) (int64, string, error) {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return 0, "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".download-*")
	if err != nil {
		return 0, "", err
	}
	defer os.Remove(tmp.Name())
	hash := sha3.NewSHAKE256()
	cw := &capWriter{w: io.MultiWriter(tmp, hash), n: limit}
	if err := a.Fetch(ctx, cw, limit); err != nil {
		tmp.Close()
		if errors.Is(err, errTooLarge) {
			return 0, "", errTooLarge
		}
		return 0, "", fmt.Errorf("download failed: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, "", err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return 0, "", err
	}
	sum := make([]byte, 32)
	_, _ = hash.Read(sum)
	return limit - cw.n, hex.EncodeToString(sum), nil
}
