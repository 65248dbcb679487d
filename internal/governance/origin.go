package governance

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"

	"github.com/weftos/weftos/internal/identity"
)

// ApplyFrom applies an amendment signed by the node origin, whatever other
// keys the constitution trusts: an amendment committed through a cluster
// is signed by the node it came from (whose membership the cluster checked
// when it committed it), and replays anywhere from the chain's record.
func ApplyFrom(c *Constitution, a Amendment, origin string) (*Constitution, error) {
	pub, err := hex.DecodeString(a.Signer)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: signer is not an Ed25519 key", ErrBadSignature)
	}
	if identity.NodeIDFor(ed25519.PublicKey(pub)) != origin {
		return nil, fmt.Errorf("%w: signed by another node than %s", ErrUntrustedSigner, origin)
	}
	return c.Apply(a, ed25519.PublicKey(pub))
}
