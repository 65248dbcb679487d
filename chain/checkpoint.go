package chain

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
)

// checkpointHeader is the first line of every checkpoint text.
const checkpointHeader = "weftos-exochain/v1\n"

// Checkpoint is a signed tree head: the Merkle root of the first Size events,
// signed with Ed25519 and ML-DSA-65 over Text().
type Checkpoint struct {
	Origin     string
	Size       uint64
	Root       Hash
	Timestamp  int64 // Unix nanoseconds
	SigEd25519 []byte
	SigMLDSA65 []byte
}

// Text returns the exact signed bytes:
// "weftos-exochain/v1\n<origin>\n<size>\n<base64 root>\n<ts>\n".
func (c *Checkpoint) Text() []byte {
	b := make([]byte, 0, len(checkpointHeader)+len(c.Origin)+90)
	b = append(b, checkpointHeader...)
	b = append(b, c.Origin...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, c.Size, 10)
	b = append(b, '\n')
	b = base64.StdEncoding.AppendEncode(b, c.Root[:])
	b = append(b, '\n')
	b = strconv.AppendInt(b, c.Timestamp, 10)
	return append(b, '\n')
}

func checkOrigin(origin string) error {
	if origin == "" || len(origin) > MaxNameLen || strings.ContainsAny(origin, "\n\r") || !utf8.ValidString(origin) {
		return fmt.Errorf("%w: origin must be 1..%d bytes of UTF-8 without newlines", ErrFormat, MaxNameLen)
	}
	return nil
}

// ParseCheckpointText parses checkpoint text strictly; only the canonical
// encoding produced by Text is accepted. Signatures are left empty.
func ParseCheckpointText(text []byte) (Checkpoint, error) {
	rest, ok := bytes.CutPrefix(text, []byte(checkpointHeader))
	if !ok {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint text does not start with %q", ErrFormat, checkpointHeader)
	}
	lines := strings.Split(string(rest), "\n")
	if len(lines) != 5 || lines[4] != "" {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint text must have exactly 5 newline-terminated lines", ErrFormat)
	}
	c := Checkpoint{Origin: lines[0]}
	if err := checkOrigin(c.Origin); err != nil {
		return Checkpoint{}, err
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint size: %v", ErrFormat, err)
	}
	c.Size = size
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != HashSize {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint root is not base64 of %d bytes", ErrFormat, HashSize)
	}
	copy(c.Root[:], root)
	ts, err := strconv.ParseInt(lines[3], 10, 64)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint timestamp: %v", ErrFormat, err)
	}
	c.Timestamp = ts
	if !bytes.Equal(c.Text(), text) {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint text is not in canonical form", ErrFormat)
	}
	return c, nil
}

// signCheckpoint signs c's text with both keys. With deterministic set,
// ML-DSA-65 uses its deterministic variant (for reproducible test vectors);
// otherwise the hedged (randomized) variant.
func signCheckpoint(keys Keys, c Checkpoint, deterministic bool) (Checkpoint, error) {
	text := c.Text()
	c.SigEd25519 = ed25519.Sign(keys.Ed25519, text)
	c.SigMLDSA65 = make([]byte, mldsa65.SignatureSize)
	if err := mldsa65.SignTo(keys.MLDSA65, text, nil, !deterministic, c.SigMLDSA65); err != nil {
		return Checkpoint{}, fmt.Errorf("chain: ML-DSA-65 sign: %w", err)
	}
	return c, nil
}

// Verify checks both signatures of c against pub.
func (c *Checkpoint) Verify(pub PublicKeys) error {
	if len(pub.Ed25519) != ed25519.PublicKeySize || pub.MLDSA65 == nil {
		return fmt.Errorf("%w: incomplete public keys", ErrVerify)
	}
	text := c.Text()
	if len(c.SigEd25519) != ed25519.SignatureSize || !ed25519.Verify(pub.Ed25519, text, c.SigEd25519) {
		return fmt.Errorf("%w: bad Ed25519 signature on checkpoint of size %d", ErrVerify, c.Size)
	}
	if len(c.SigMLDSA65) != mldsa65.SignatureSize || !mldsa65.Verify(pub.MLDSA65, text, nil, c.SigMLDSA65) {
		return fmt.Errorf("%w: bad ML-DSA-65 signature on checkpoint of size %d", ErrVerify, c.Size)
	}
	return nil
}

type checkpointJSON struct {
	Type       string `json:"type,omitempty"`
	Origin     string `json:"origin"`
	Size       uint64 `json:"size"`
	Root       Hash   `json:"root"`
	Timestamp  int64  `json:"ts"`
	Text       string `json:"text"`
	SigEd25519 []byte `json:"sig_ed25519"`
	SigMLDSA65 []byte `json:"sig_mldsa65"`
}

func (c *Checkpoint) toJSON(typ string) checkpointJSON {
	return checkpointJSON{Type: typ, Origin: c.Origin, Size: c.Size, Root: c.Root, Timestamp: c.Timestamp,
		Text: string(c.Text()), SigEd25519: c.SigEd25519, SigMLDSA65: c.SigMLDSA65}
}

func (j *checkpointJSON) checkpoint() (Checkpoint, error) {
	c, err := ParseCheckpointText([]byte(j.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != j.Origin || c.Size != j.Size || c.Root != j.Root || c.Timestamp != j.Timestamp {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint fields disagree with its text", ErrFormat)
	}
	c.SigEd25519, c.SigMLDSA65 = j.SigEd25519, j.SigMLDSA65
	return c, nil
}

// MarshalJSON encodes c as {origin, size, root (hex), ts, text, sig_ed25519,
// sig_mldsa65 (base64)}.
func (c Checkpoint) MarshalJSON() ([]byte, error) { return json.Marshal(c.toJSON("")) }

// UnmarshalJSON decodes c and checks that the fields agree with the text.
func (c *Checkpoint) UnmarshalJSON(b []byte) error {
	var j checkpointJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("%w: checkpoint: %v", ErrFormat, err)
	}
	cp, err := j.checkpoint()
	if err != nil {
		return err
	}
	*c = cp
	return nil
}
