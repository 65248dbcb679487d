package session

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"time"
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

// Journal formats (Meta.Version). Format 2 ends every record with a
// CRC-32C (Castagnoli) of its bytes: the line is the step's JSON object
// with a final member `"crc":"XXXXXXXX"` (8 lower-case hex digits) whose
// checksum covers every byte of the line before `,"crc"`. Format 1 lines
// carry no checksum; such sessions are readable and are rewritten in
// format 2 the first time they are opened for writing.
const (
	FormatPlain   = 1
	FormatCRC     = 2
	CurrentFormat = FormatCRC
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcSuffixLen is len(`,"crc":"XXXXXXXX"}` + "\n").
const crcSuffixLen = len(`,"crc":"`) + 8 + len(`"}`) + 1

// CorruptError is a damaged journal: it names the file, the record (its
// 1-based line, which is its step number) and the byte offset, and
// matches ErrCorrupt.
type CorruptError struct {
	File   string
	Step   int
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("session: corrupt journal %s: step %d (offset %d): %s", e.File, e.Step, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// scan reads a journal of the given format. A final line without its
// newline is a torn write and is reported, not an error; any complete line
// that is not a valid, consistent record (checksum included, in format 2)
// is a *CorruptError naming file.
func scan(r io.Reader, file string, format int, keep bool) (scanResult, error) {
	res := scanResult{replay: newReplay()}
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	for {
		b, err := readLine(br)
		if len(b) > 0 && b[len(b)-1] == '\n' {
			line++
			s, perr := parseRecord(b, format, res.replay)
			if perr != nil {
				return res, &CorruptError{File: file, Step: line, Offset: res.good, Reason: perr.Error()}
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
			return res, &CorruptError{File: file, Step: line + 1, Offset: res.good, Reason: fmt.Sprintf("record longer than %d bytes", MaxRecordSize)}
		}
		return res, fmt.Errorf("session: read journal %s: %w", file, err)
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

// parseRecord decodes one newline-terminated line of the given format and
// folds it into r.
func parseRecord(b []byte, format int, r *replay) (Step, error) {
	body, err := checkRecord(b, format)
	if err != nil {
		return Step{}, err
	}
	var s Step
	if err := json.Unmarshal(body, &s); err != nil { // refuses trailing values
		return Step{}, err
	}
	payload, err := r.check(s, false)
	if err != nil {
		return Step{}, err
	}
	r.apply(s, payload)
	return s, nil
}

// checkRecord verifies a format-2 line's checksum and returns the record's
// JSON object without it; format-1 lines are returned as they are.
func checkRecord(b []byte, format int) ([]byte, error) {
	if format < FormatCRC {
		return b, nil
	}
	n := len(b)
	if n < crcSuffixLen+1 || !bytes.HasPrefix(b[n-crcSuffixLen:], []byte(`,"crc":"`)) || !bytes.HasSuffix(b, []byte("\"}\n")) {
		return nil, errors.New("record has no checksum")
	}
	prefix := b[:n-crcSuffixLen]
	var want uint32
	hexd := b[n-crcSuffixLen+len(`,"crc":"`) : n-3]
	for _, c := range hexd {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		default:
			return nil, fmt.Errorf("malformed checksum %q", hexd)
		}
		want = want<<4 | uint32(v)
	}
	if got := crc32.Checksum(prefix, castagnoli); got != want {
		return nil, fmt.Errorf("checksum mismatch (stored %08x, computed %08x): the record was modified or damaged", want, got)
	}
	return append(append(make([]byte, 0, len(prefix)+1), prefix...), '}'), nil
}

// encodeRecord renders a step as one journal line of the given format:
// the JSON object {"seq","time","type","data"} (data compacted; in format
// 2 followed by the checksum member) and a newline. dataAt is where data
// starts in the line (it ends before the object's closing brace or the
// checksum member). It writes what encoding/json would, without
// reflection.
func encodeRecord(s Step, format int) (line []byte, dataAt int, err error) {
	if !s.Type.Valid() {
		return nil, 0, fmt.Errorf("unknown step type %q", s.Type)
	}
	if y := s.Time.Year(); y < 0 || y > 9999 {
		return nil, 0, fmt.Errorf("step time %v outside years 0-9999", s.Time)
	}
	b := make([]byte, 0, len(s.Data)+160)
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, s.Seq, 10)
	b = append(b, `,"time":"`...)
	b = s.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","type":"`...)
	b = append(b, s.Type...) // one of the step types: nothing to escape
	b = append(b, `","data":`...)
	dataAt = len(b)
	buf := bytes.NewBuffer(b)
	if err := json.Compact(buf, s.Data); err != nil {
		return nil, 0, fmt.Errorf("data: %w", err)
	}
	b = buf.Bytes()
	if len(b) == dataAt {
		b = append(b, "null"...) // what encoding/json writes for an empty RawMessage
	}
	if format < FormatCRC {
		return append(b, "}\n"...), dataAt, nil
	}
	b = append(b, `,"crc":"`...)
	b = appendHex32(b, crc32.Checksum(b[:len(b)-len(`,"crc":"`)], castagnoli))
	return append(b, "\"}\n"...), dataAt, nil
}

// appendHex32 appends v as 8 lower-case hex digits.
func appendHex32(b []byte, v uint32) []byte {
	const digits = "0123456789abcdef"
	for shift := 28; shift >= 0; shift -= 4 {
		b = append(b, digits[v>>uint(shift)&0xf])
	}
	return b
}

// recordData returns the data member of a line encodeRecord wrote.
func recordData(line []byte, dataAt, format int) []byte {
	end := len(line) - len("}\n")
	if format >= FormatCRC {
		end = len(line) - crcSuffixLen
	}
	return line[dataAt:end]
}
