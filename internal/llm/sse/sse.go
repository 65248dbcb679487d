// Package sse decodes text/event-stream bodies (Server-Sent Events) as
// specified by the WHATWG HTML Living Standard, section 9.2 "Server-sent
// events". It is the framing layer under the OpenAI and Anthropic streaming
// clients in package llm.
//
// The decoder accepts LF, CRLF and lone CR line endings, ignores comment
// lines (starting with ':'), joins multi-line data fields with '\n',
// dispatches an event at each blank line and skips a leading UTF-8 BOM. A
// line longer than the configured cap, or an event whose accumulated data
// exceeds it, yields ErrTooLong instead of unbounded buffering. Bad input
// never panics.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// DefaultMaxEventSize bounds a single line and the accumulated data of one
// event when NewDecoder is given a non-positive cap. Tool-call arguments are
// streamed in fragments, so real events are far below this.
const DefaultMaxEventSize = 4 << 20

// ErrTooLong reports a line or an event larger than the decoder's cap.
var ErrTooLong = errors.New("sse: line or event exceeds size cap")

// Event is one dispatched server-sent event.
type Event struct {
	// Type is the value of the last "event:" field, or "" (which the spec
	// treats as "message").
	Type string
	// Data is the concatenation of the "data:" fields, joined with '\n'.
	Data []byte
	// ID is the value of the last "id:" field seen so far in the stream.
	ID string
	// Retry is the last "retry:" value in milliseconds, or -1 if none.
	Retry int
}

// Decoder reads events from a stream. It is not safe for concurrent use.
type Decoder struct {
	sc       *bufio.Scanner
	max      int
	skipLF   bool
	first    bool
	lastID   string
	retry    int
	data     bytes.Buffer
	hasData  bool
	evType   string
	finished error
}

// NewDecoder returns a decoder reading from r. maxSize caps the length of a
// line and of an event's data; non-positive means DefaultMaxEventSize.
func NewDecoder(r io.Reader, maxSize int) *Decoder {
	if maxSize <= 0 {
		maxSize = DefaultMaxEventSize
	}
	d := &Decoder{max: maxSize, first: true, retry: -1}
	d.sc = bufio.NewScanner(r)
	initial := 4096
	if initial > maxSize+1 {
		initial = maxSize + 1
	}
	// +1 so that a line of exactly maxSize bytes plus its terminator fits.
	d.sc.Buffer(make([]byte, 0, initial), maxSize+1)
	d.sc.Split(d.splitLine)
	return d
}

// splitLine splits on LF, CRLF or CR. A CR is a line end on its own, so a
// CR-terminated line is dispatched without waiting for the next byte; a LF
// immediately following it is then skipped.
func (d *Decoder) splitLine(data []byte, atEOF bool) (int, []byte, error) {
	if d.skipLF && len(data) > 0 {
		d.skipLF = false
		if data[0] == '\n' {
			return 1, nil, nil
		}
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\r' {
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
			} else {
				d.skipLF = true
			}
		}
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		// An unterminated final line: hand it over so Next can discard
		// the incomplete event as the spec requires.
		return len(data), data, bufio.ErrFinalToken
	}
	return 0, nil, nil
}

// Next returns the next event. It returns io.EOF when the stream ends
// cleanly; an event still being assembled at end of stream is discarded,
// as the spec requires, and reported as io.ErrUnexpectedEOF. The returned
// Event.Data is only valid until the next call to Next.
func (d *Decoder) Next() (Event, error) {
	if d.finished != nil {
		return Event{}, d.finished
	}
	for d.sc.Scan() {
		line := d.sc.Bytes()
		if d.first {
			d.first = false
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
		}
		if len(line) == 0 {
			if !d.hasData {
				d.evType = ""
				continue
			}
			ev := Event{Type: d.evType, Data: d.data.Bytes(), ID: d.lastID, Retry: d.retry}
			// Strip the single trailing '\n' appended after the last data line.
			ev.Data = ev.Data[:len(ev.Data)-1]
			d.hasData = false
			d.evType = ""
			d.data.Reset()
			return ev, nil
		}
		if err := d.field(line); err != nil {
			d.finished = err
			return Event{}, err
		}
	}
	err := d.sc.Err()
	switch {
	case errors.Is(err, bufio.ErrTooLong):
		err = fmt.Errorf("%w (cap %d bytes)", ErrTooLong, d.max)
	case err != nil:
	case d.hasData:
		err = io.ErrUnexpectedEOF
	default:
		err = io.EOF
	}
	d.finished = err
	return Event{}, err
}

func (d *Decoder) field(line []byte) error {
	if line[0] == ':' {
		return nil // comment
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "event":
		d.evType = string(value)
	case "data":
		if d.data.Len()+len(value)+1 > d.max {
			return fmt.Errorf("%w (cap %d bytes)", ErrTooLong, d.max)
		}
		d.data.Write(value)
		d.data.WriteByte('\n')
		d.hasData = true
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			d.lastID = string(value)
		}
	case "retry":
		if n, err := strconv.Atoi(string(value)); err == nil && n >= 0 && isDigits(value) {
			d.retry = n
		}
	}
	// Unknown fields are ignored, as the spec requires.
	return nil
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// Encode writes ev in canonical form (LF line endings), splitting Data on
// '\n' into several data lines. It is the inverse of Decoder.Next for events
// whose Type and ID contain no line breaks, and is used by the test servers
// in package llmtest.
func Encode(w io.Writer, ev Event) error {
	var b bytes.Buffer
	if ev.Type != "" {
		b.WriteString("event: ")
		b.WriteString(ev.Type)
		b.WriteByte('\n')
	}
	if ev.ID != "" {
		b.WriteString("id: ")
		b.WriteString(ev.ID)
		b.WriteByte('\n')
	}
	for _, line := range bytes.Split(ev.Data, []byte("\n")) {
		b.WriteString("data: ")
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
