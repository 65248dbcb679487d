// Package apikey loads API keys the way every WeftOS client must: from an
// environment variable, or from a file that only its owner can read, never
// from anywhere else. It is shared by the LLM and embedding clients.
package apikey

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxFileSize bounds a key file.
const MaxFileSize = 64 << 10

// ErrKeyFile reports a key file that is unreadable, empty, not a regular
// file, too large, on several lines, or readable by group or others.
var ErrKeyFile = errors.New("unusable API key file")

// Load returns the key from the environment variable env (when set and not
// blank) or from file; "" with no error when neither is configured.
func Load(getenv func(string) string, env, file string) (string, error) {
	if env != "" {
		if v := strings.TrimSpace(getenv(env)); v != "" {
			return v, nil
		}
	}
	if file == "" {
		return "", nil
	}
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrKeyFile, file, err)
	}
	defer f.Close()
	st, err := f.Stat() // fstat of the opened file: no check-then-open race
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrKeyFile, file, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%w %s: not a regular file", ErrKeyFile, file)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%w %s: mode %04o lets group or others read it; run: chmod 600 %s", ErrKeyFile, file, perm, file)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return "", fmt.Errorf("%w %s: %w", ErrKeyFile, file, err)
	}
	if len(b) > MaxFileSize {
		return "", fmt.Errorf("%w %s: larger than %d bytes", ErrKeyFile, file, MaxFileSize)
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return "", fmt.Errorf("%w %s: empty", ErrKeyFile, file)
	}
	if strings.ContainsAny(k, "\r\n") {
		return "", fmt.Errorf("%w %s: must hold the key on a single line", ErrKeyFile, file)
	}
	return k, nil
}
