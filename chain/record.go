package chain

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf8"
)

// Segment files hold framed records: u32le(len(body)) ‖ u32le(CRC32C(body)) ‖
// body, where body[0] is the record type (docs/EXOCHAIN.md, "Storage").

const (
	frameHeaderLen = 8
	segmentMagic   = "weftos-exochain-segment/v1"

	recSegment    byte = 1
	recEvent      byte = 2
	recCheckpoint byte = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func appendFrame(dst, body []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(body)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(body, castagnoli))
	return append(dst, body...)
}

// appendFramed encodes a record body with enc directly after a reserved frame
// header, then fills the header in; it avoids a copy on the hot path.
func appendFramed(dst []byte, enc func([]byte) []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeaderLen)...)
	dst = enc(dst)
	body := dst[start+frameHeaderLen:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(body, castagnoli))
	return dst
}

// segmentHeader is the first record of every segment file.
type segmentHeader struct {
	ChainID  uint32
	Number   uint32
	FirstSeq uint64
	Origin   string
}

func (h segmentHeader) appendBody(b []byte) []byte {
	b = append(b, recSegment)
	b = append(b, segmentMagic...)
	b = binary.LittleEndian.AppendUint32(b, h.ChainID)
	b = binary.LittleEndian.AppendUint32(b, h.Number)
	b = binary.LittleEndian.AppendUint64(b, h.FirstSeq)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(h.Origin)))
	return append(b, h.Origin...)
}

func appendEventBody(b []byte, e *Event) []byte {
	b = append(b, recEvent)
	b = binary.LittleEndian.AppendUint64(b, e.Seq)
	b = binary.LittleEndian.AppendUint32(b, e.ChainID)
	b = binary.LittleEndian.AppendUint64(b, uint64(e.Timestamp))
	b = append(b, e.PrevHash[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Source)))
	b = append(b, e.Source...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Kind)))
	b = append(b, e.Kind...)
	b = append(b, e.PayloadHash[:]...)
	b = append(b, e.Hash[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(e.Payload)))
	return append(b, e.Payload...)
}

func appendCheckpointBody(b []byte, c *Checkpoint) []byte {
	text := c.Text()
	b = append(b, recCheckpoint)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(text)))
	b = append(b, text...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(c.SigEd25519)))
	b = append(b, c.SigEd25519...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(c.SigMLDSA65)))
	return append(b, c.SigMLDSA65...)
}

// decoder reads fields from a record body, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = fmt.Errorf("%w: record truncated", ErrFormat)
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u16() int {
	b := d.take(2)
	if b == nil {
		return 0
	}
	return int(binary.LittleEndian.Uint16(b))
}

func (d *decoder) u32() uint32 {
	b := d.take(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (d *decoder) u64() uint64 {
	b := d.take(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (d *decoder) hash() (h Hash) {
	copy(h[:], d.take(HashSize))
	return h
}

func (d *decoder) str(limit int) string {
	n := d.u32()
	if d.err == nil && n > uint32(limit) {
		d.err = fmt.Errorf("%w: string of %d bytes exceeds %d", ErrFormat, n, limit)
		return ""
	}
	return string(d.take(int(n)))
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes in record", ErrFormat, len(d.b))
	}
	return d.err
}

func decodeSegmentHeader(body []byte) (segmentHeader, error) {
	d := decoder{b: body}
	if t := d.take(1); d.err == nil && t[0] != recSegment {
		return segmentHeader{}, fmt.Errorf("%w: expected segment header record, got type %d", ErrFormat, t[0])
	}
	if m := d.take(len(segmentMagic)); d.err == nil && string(m) != segmentMagic {
		return segmentHeader{}, fmt.Errorf("%w: bad segment magic", ErrFormat)
	}
	h := segmentHeader{ChainID: d.u32(), Number: d.u32(), FirstSeq: d.u64(), Origin: d.str(MaxNameLen)}
	return h, d.done()
}

// decodeEvent decodes an event record body. It checks structure only; the
// verifier recomputes hashes.
func decodeEvent(body []byte) (Event, error) {
	d := decoder{b: body}
	if t := d.take(1); d.err == nil && t[0] != recEvent {
		return Event{}, fmt.Errorf("%w: expected event record, got type %d", ErrFormat, t[0])
	}
	var e Event
	e.Seq = d.u64()
	e.ChainID = d.u32()
	e.Timestamp = int64(d.u64())
	e.PrevHash = d.hash()
	e.Source = d.str(MaxNameLen)
	e.Kind = d.str(MaxNameLen)
	e.PayloadHash = d.hash()
	e.Hash = d.hash()
	n := d.u32()
	if d.err == nil && n > MaxPayloadLen {
		return Event{}, fmt.Errorf("%w: payload of %d bytes exceeds %d", ErrFormat, n, MaxPayloadLen)
	}
	if p := d.take(int(n)); n > 0 && p != nil {
		e.Payload = append([]byte(nil), p...)
	}
	if err := d.done(); err != nil {
		return Event{}, err
	}
	if !utf8.ValidString(e.Source) || !utf8.ValidString(e.Kind) {
		return Event{}, fmt.Errorf("%w: source or kind is not UTF-8", ErrFormat)
	}
	return e, nil
}

func decodeCheckpoint(body []byte) (Checkpoint, error) {
	d := decoder{b: body}
	if t := d.take(1); d.err == nil && t[0] != recCheckpoint {
		return Checkpoint{}, fmt.Errorf("%w: expected checkpoint record, got type %d", ErrFormat, t[0])
	}
	text := d.take(int(d.u32()))
	ed := d.take(d.u16())
	ml := d.take(d.u16())
	if err := d.done(); err != nil {
		return Checkpoint{}, err
	}
	c, err := ParseCheckpointText(text)
	if err != nil {
		return Checkpoint{}, err
	}
	c.SigEd25519 = append([]byte(nil), ed...)
	c.SigMLDSA65 = append([]byte(nil), ml...)
	return c, nil
}

// frameError describes a frame that could not be read at Offset. Torn is set
// when the frame runs past the end of the file (an incomplete write).
type frameError struct {
	Offset int64
	Torn   bool
	// ZeroGap is set for a zero frame header followed by non-zero bytes
	// (in the preallocated region: an interrupted write, or damage).
	ZeroGap bool
	Reason  string
}

func (e *frameError) Error() string {
	return fmt.Sprintf("bad record frame at offset %d: %s", e.Offset, e.Reason)
}

// checkFrame validates the frame at the start of b. It returns the body and
// the frame length; torn reports that b ends inside the frame.
func checkFrame(b []byte) (body []byte, n int, torn bool, reason string) {
	if len(b) < frameHeaderLen {
		return nil, 0, true, "incomplete frame header"
	}
	l := binary.LittleEndian.Uint32(b)
	if l == 0 || l > maxRecordLen {
		return nil, 0, false, "invalid record length"
	}
	if uint64(len(b)-frameHeaderLen) < uint64(l) {
		return nil, 0, true, "record runs past end of file"
	}
	body = b[frameHeaderLen : frameHeaderLen+int(l)]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, false, "CRC32C mismatch"
	}
	if body[0] < recSegment || body[0] > recCheckpoint {
		return nil, 0, false, "unknown record type"
	}
	return body, frameHeaderLen + int(l), false, ""
}

// frameReader reads frames sequentially from a segment.
type frameReader struct {
	r   *bufio.Reader
	off int64
	buf []byte
}

// newFrameReader reads frames from r, which starts at offset off; size
// hints how many bytes remain (to size the buffer).
func newFrameReader(r io.Reader, off, size int64) *frameReader {
	bufSize := int64(1 << 20)
	if size >= 0 && size < bufSize {
		bufSize = max(size, 16)
	}
	return &frameReader{r: bufio.NewReaderSize(r, int(bufSize)), off: off}
}

// next returns the next record body (valid until the following call) and its
// offset; io.EOF at a clean end, *frameError for a bad frame.
func (fr *frameReader) next() (int64, []byte, error) {
	off := fr.off
	var hdr [frameHeaderLen]byte
	n, err := io.ReadFull(fr.r, hdr[:])
	if err == io.EOF {
		return off, nil, io.EOF
	}
	if hdr == ([frameHeaderLen]byte{}) && (err == nil || errors.Is(err, io.ErrUnexpectedEOF)) {
		// A zero frame header: the end of the data if only zeros follow
		// (the writer's preallocated region), a gap otherwise.
		return off, nil, fr.zeroTail(off, int64(n))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return off, nil, &frameError{Offset: off, Torn: true, Reason: fmt.Sprintf("incomplete frame header (%d bytes)", n)}
	}
	if err != nil {
		return off, nil, err
	}
	l := binary.LittleEndian.Uint32(hdr[:])
	if l == 0 || l > maxRecordLen {
		return off, nil, &frameError{Offset: off, Reason: fmt.Sprintf("invalid record length %d", l)}
	}
	if cap(fr.buf) < int(l) {
		fr.buf = make([]byte, l)
	}
	body := fr.buf[:l]
	if _, err := io.ReadFull(fr.r, body); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
			return off, nil, &frameError{Offset: off, Torn: true, Reason: fmt.Sprintf("record length %d runs past end of file", l)}
		}
		return off, nil, err
	}
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
		return off, nil, &frameError{Offset: off, Reason: "CRC32C mismatch"}
	}
	if body[0] < recSegment || body[0] > recCheckpoint {
		return off, nil, &frameError{Offset: off, Reason: fmt.Sprintf("unknown record type %d", body[0])}
	}
	fr.off += frameHeaderLen + int64(l)
	return off, body, nil
}

// zeroTail reads the rest of the segment after a zero frame header of
// read bytes at off: io.EOF if every remaining byte is zero (a clean end
// of the data: the writer preallocates segments with zeros, see
// docs/EXOCHAIN.md), and a *frameError naming the first non-zero byte
// otherwise. The frame reader's offset stays at off.
func (fr *frameReader) zeroTail(off, read int64) error {
	pos := off + read
	var buf [4096]byte
	for {
		n, err := fr.r.Read(buf[:])
		for i, c := range buf[:n] {
			if c != 0 {
				return &frameError{Offset: off, ZeroGap: true,
					Reason: fmt.Sprintf("zero frame header, but non-zero bytes follow at offset %d", pos+int64(i))}
			}
		}
		pos += int64(n)
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return err
		}
	}
}

// validFrameAt reports whether tail holds a valid frame at offset at.
func validFrameAt(tail []byte, at int) bool {
	if at >= len(tail) {
		return false
	}
	_, _, torn, reason := checkFrame(tail[at:])
	return !torn && reason == ""
}

// validFrameAfter reports whether any offset after from in tail (the file
// content starting at base) holds a valid frame. Recovery uses it to tell a
// torn tail (nothing valid follows) from corruption in the middle.
func validFrameAfter(tail []byte, from int) bool {
	for i := from + 1; i+frameHeaderLen < len(tail); i++ {
		if validFrameAt(tail, i) {
			return true
		}
	}
	return false
}
