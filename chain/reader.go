package chain

import (
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Reader is a read-only snapshot of a store, for offline tools. It never
// writes to the directory, so it can be used while a daemon appends: it sees
// the chain as of OpenReader (an incomplete tail being written is ignored).
type Reader struct {
	*store
}

// OpenReader opens dir read-only. Records not yet reflected in the on-disk
// index are scanned and indexed in memory.
func OpenReader(dir string) (*Reader, error) {
	return OpenReaderLogger(dir, nil)
}

// OpenReaderLogger is OpenReader with a logger for recovery diagnostics.
func OpenReaderLogger(dir string, logger *slog.Logger) (*Reader, error) {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("chain: open reader: %w", err)
	}
	info, err := ReadChainInfo(dir)
	if err != nil {
		return nil, err
	}
	s, _, err := openStore(dir, info, false, logger)
	if err != nil {
		return nil, err
	}
	return &Reader{store: s}, nil
}

// Close releases the reader's files.
func (r *Reader) Close() error {
	r.segMu.Lock()
	closed := r.closed
	r.segMu.Unlock()
	if closed {
		return ErrClosed
	}
	return r.closeFiles()
}
