package minihttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxChunkLine bounds a chunk-size line (size and extensions).
const maxChunkLine = 4096

// chunkedReader decodes a chunked body; after the last chunk it parses the
// trailer into trailer (when not nil) and reports io.EOF.
type chunkedReader struct {
	br      *bufio.Reader
	left    int64 // bytes left in the current chunk
	done    bool
	err     error
	trailer Header
	excess  bool // a CRLF is owed after the current chunk's data
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left == 0 {
		if c.excess {
			if err := c.crlf(); err != nil {
				c.err = err
				return 0, err
			}
			c.excess = false
		}
		n, err := c.size()
		if err != nil {
			c.err = err
			return 0, err
		}
		if n == 0 {
			lr := &lineReader{br: c.br, budget: DefaultMaxHeaderBytes, crlf: true}
			t, err := lr.headers()
			if err != nil {
				c.err = fmt.Errorf("minihttp: chunked trailer: %w", noEOF(err))
				return 0, c.err
			}
			for k, v := range t {
				if c.trailer != nil {
					c.trailer[k] = v
				}
			}
			c.err = io.EOF
			return 0, io.EOF
		}
		c.left = n
		c.excess = true
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.br.Read(p)
	c.left -= int64(n)
	if err != nil {
		c.err = noEOF(err)
		return n, c.err
	}
	return n, nil
}

// crlf reads the CRLF after a chunk's data. A bare LF is refused, as
// net/http does (RFC 9112 7.1, erratum 7633).
func (c *chunkedReader) crlf() error {
	b, err := c.br.ReadByte()
	if err == nil && b == '\r' {
		b, err = c.br.ReadByte()
	} else if err == nil {
		return errors.New("minihttp: chunked body: missing CRLF after chunk data")
	}
	if err != nil {
		return noEOF(err)
	}
	if b != '\n' {
		return errors.New("minihttp: chunked body: missing CRLF after chunk data")
	}
	return nil
}

// size reads a chunk-size line, which must end in CRLF (a bare LF or a
// CR elsewhere is refused, as net/http does); extensions are ignored.
func (c *chunkedReader) size() (int64, error) {
	p, err := c.br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull || len(p) >= maxChunkLine {
			return 0, errors.New("minihttp: chunked body: chunk-size line too long")
		}
		return 0, noEOF(err)
	}
	if len(p) >= maxChunkLine {
		return 0, errors.New("minihttp: chunked body: chunk-size line too long")
	}
	if i := bytes.IndexByte(p, '\r'); i < 0 || i != len(p)-2 {
		return 0, fmt.Errorf("minihttp: chunked body: chunk-size line %q does not end in CRLF", truncate(string(p)))
	}
	line := p[:len(p)-2]
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, " \t")
	if len(line) == 0 || len(line) > 16 {
		return 0, fmt.Errorf("minihttp: chunked body: invalid chunk size %q", truncate(string(line)))
	}
	var n uint64
	for _, b := range line {
		var d byte
		switch {
		case '0' <= b && b <= '9':
			d = b - '0'
		case 'a' <= b && b <= 'f':
			d = b - 'a' + 10
		case 'A' <= b && b <= 'F':
			d = b - 'A' + 10
		default:
			return 0, fmt.Errorf("minihttp: chunked body: invalid chunk size %q", truncate(string(line)))
		}
		n = n<<4 | uint64(d)
	}
	if n > 1<<63-1 {
		return 0, fmt.Errorf("minihttp: chunked body: invalid chunk size %q", truncate(string(line)))
	}
	return int64(n), nil
}

// noEOF turns a premature io.EOF into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// writeChunk writes p as one chunk.
func writeChunk(w *bufio.Writer, p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if _, err := w.WriteString(strconv.FormatInt(int64(len(p)), 16)); err != nil {
		return err
	}
	if _, err := w.WriteString("\r\n"); err != nil {
		return err
	}
	if _, err := w.Write(p); err != nil {
		return err
	}
	_, err := w.WriteString("\r\n")
	return err
}
