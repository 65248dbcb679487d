package session

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxRecordSize is the largest journal line, newline included.
const MaxRecordSize = 16 << 20

// scanResult is what reading a journal found.
type scanResult struct {
	steps  []Step
	replay *replay
	// good is the length of the valid prefix: every complete, valid line.
	good int64
	// torn is the number of bytes after the last newline: a final record
	// whose write did not complete.
	torn int64
}

// scan reads a journal. A final line without its newline is a torn write
// and is reported, not an error; any complete line that is not a valid,
// consistent record is ErrCorrupt.
func scan(r io.Reader, keep bool) (scanResult, error) {
	res := scanResult{replay: newReplay()}
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	for {
		b, err := readLine(br)
		if len(b) > 0 && b[len(b)-1] == '\n' {
			line++
			s, perr := parseRecord(b, res.replay)
			if perr != nil {
				return res, fmt.Errorf("%w: line %d (offset %d): %v", ErrCorrupt, line, res.good, perr)
			}
			if keep {
				res.steps = append(res.steps, s)
			}
			res.good += int64(len(b))
			continue
		}
		res.torn = int64(len(b))
		if errors.Is(err, io.EOF) {
			return res, nil
		}
		if errors.Is(err, errTooLong) {
			return res, fmt.Errorf("%w: line %d (offset %d): record longer than %d bytes", ErrCorrupt, line+1, res.good, MaxRecordSize)
		}
		return res, fmt.Errorf("session: read journal: %w", err)
	}
}

var errTooLong = errors.New("line too long")

// readLine returns the next line with its newline, or the unterminated
// rest of the input with io.EOF.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > MaxRecordSize {
			return nil, errTooLong
		}
		buf = append(buf, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return buf, err
	}
}

// parseRecord decodes one newline-terminated line and folds it into r.
func parseRecord(b []byte, r *replay) (Step, error) {
	var s Step
	if err := json.Unmarshal(b, &s); err != nil { // refuses trailing values
		return Step{}, err
	}
	payload, err := r.check(s, false)
	if err != nil {
		return Step{}, err
	}
	r.apply(s, payload)
	return s, nil
}

// encodeRecord renders a step as one journal line.
func encodeRecord(s Step) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil { // Encode compacts Data and adds '\n'
		return nil, err
	}
	return buf.Bytes(), nil
}
