package mesh

import (
	"encoding/binary"
	"fmt"
	"io"
	"unicode/utf8"
)

// Frames before the handshake completes: u8 type ‖ u16be length ‖ body.
const (
	frameHello     byte = 0x01 // initiator → responder: u8 version ‖ u8 suite
	frameHandshake byte = 0x02 // a Noise handshake message
	frameRefuse    byte = 0x03 // u8 code ‖ UTF-8 reason (≤ 256 bytes)
	frameFinished  byte = 0x04 // responder → initiator: an empty record under its sending key
)

// maxFrameBody is the largest body of a frame or record (u16 length).
const maxFrameBody = 0xFFFF

// maxReason bounds a REFUSE frame's reason text.
const maxReason = 256

// RefuseCode says why a handshake was refused (REFUSE frames).
type RefuseCode uint8

// Refusal codes.
const (
	RefuseVersion     RefuseCode = 1 // protocol version not supported
	RefuseSuite       RefuseCode = 2 // suite unknown, or classical and not allowed
	RefuseNotAdmitted RefuseCode = 3 // the node id may not link
	RefuseBadCert     RefuseCode = 4 // certificate malformed or signatures invalid
	RefuseHandshake   RefuseCode = 5 // a handshake message failed to authenticate or decode
)

var refuseNames = map[RefuseCode]string{RefuseVersion: "version", RefuseSuite: "suite", RefuseNotAdmitted: "not_admitted",
	RefuseBadCert: "bad_cert", RefuseHandshake: "handshake"}

func (c RefuseCode) String() string {
	if n, ok := refuseNames[c]; ok {
		return n
	}
	return fmt.Sprintf("refuse(%d)", uint8(c))
}

// appendFrame appends a pre-transport frame.
func appendFrame(b []byte, typ byte, body []byte) ([]byte, error) {
	if len(body) > maxFrameBody {
		return b, fmt.Errorf("%w: frame body of %d bytes", ErrFrame, len(body))
	}
	b = append(b, typ, byte(len(body)>>8), byte(len(body)))
	return append(b, body...), nil
}

// readFrame reads one pre-transport frame. buf is reused when large enough.
func readFrame(r io.Reader, buf []byte) (typ byte, body []byte, err error) {
	var hdr [3]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[1:]))
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	body = buf[:n]
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, fmt.Errorf("%w: frame cut short: %w", ErrFrame, err)
	}
	return hdr[0], body, nil
}

// parseFrame decodes one pre-transport frame from the front of b and
// returns the rest.
func parseFrame(b []byte) (typ byte, body, rest []byte, err error) {
	if len(b) < 3 {
		return 0, nil, b, fmt.Errorf("%w: %d bytes, want a 3-byte header", ErrFrame, len(b))
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	if len(b) < 3+n {
		return 0, nil, b, fmt.Errorf("%w: body of %d bytes announced, %d present", ErrFrame, n, len(b)-3)
	}
	return b[0], b[3 : 3+n], b[3+n:], nil
}

// hello is the initiator's first frame.
type hello struct {
	Version uint8
	Suite   Suite
}

func (h hello) body() []byte { return []byte{h.Version, byte(h.Suite)} }

func parseHello(body []byte) (hello, error) {
	if len(body) != 2 {
		return hello{}, fmt.Errorf("%w: hello of %d bytes, want 2", ErrFrame, len(body))
	}
	return hello{Version: body[0], Suite: Suite(body[1])}, nil
}

// refusal is the body of a REFUSE frame.
type refusal struct {
	Code   RefuseCode
	Reason string
}

func (r refusal) body() []byte {
	reason := r.Reason
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	for !utf8.ValidString(reason) {
		reason = reason[:len(reason)-1]
	}
	return append([]byte{byte(r.Code)}, reason...)
}

func parseRefusal(body []byte) (refusal, error) {
	if len(body) < 1 || len(body) > 1+maxReason {
		return refusal{}, fmt.Errorf("%w: refusal of %d bytes", ErrFrame, len(body))
	}
	if !utf8.Valid(body[1:]) {
		return refusal{}, fmt.Errorf("%w: refusal reason is not UTF-8", ErrFrame)
	}
	return refusal{Code: RefuseCode(body[0]), Reason: string(body[1:])}, nil
}

// Record types: the first plaintext byte of every transport record.
const (
	recMore  byte = 0x00 // a chunk of a message; more chunks follow
	recEnd   byte = 0x01 // the last (or only) chunk of a message
	recRekey byte = 0x02 // the sender rekeyed its sending key after this record
	recClose byte = 0x03 // the sender closes the link
)

// Transport records: u16be length ‖ ciphertext (ChaChaPoly, 16-byte tag)
// of u8 type ‖ data.
const (
	tagSize       = 16
	maxRecordData = maxFrameBody - tagSize - 1 // 65518 bytes of message per record
)

// parseRecord checks a decrypted record's plaintext and splits off its type.
func parseRecord(plain []byte) (typ byte, data []byte, err error) {
	if len(plain) < 1 {
		return 0, nil, fmt.Errorf("%w: empty record", ErrFrame)
	}
	typ, data = plain[0], plain[1:]
	switch typ {
	case recMore, recEnd:
	case recRekey, recClose:
		if len(data) != 0 {
			return 0, nil, fmt.Errorf("%w: control record 0x%02x with %d data bytes", ErrFrame, typ, len(data))
		}
	default:
		return 0, nil, fmt.Errorf("%w: unknown record type 0x%02x", ErrFrame, typ)
	}
	return typ, data, nil
}
