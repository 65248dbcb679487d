package daemon

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"

	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/identity"
)

// What the governance and authority wiring needs of the cluster whether
// or not the mesh layer is built in: a chain written by a node in a
// cluster replays anywhere.

// applyFrom applies an amendment signed by the node origin (whatever other
// keys the constitution trusts).
func applyFrom(c *governance.Constitution, a governance.Amendment, origin string) (*governance.Constitution, error) {
	pub, err := hex.DecodeString(a.Signer)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: signer is not an Ed25519 key", governance.ErrBadSignature)
	}
	if identity.NodeIDFor(ed25519.PublicKey(pub)) != origin {
		return nil, fmt.Errorf("%w: signed by another node than %s", governance.ErrUntrustedSigner, origin)
	}
	return c.Apply(a, ed25519.PublicKey(pub))
}

// remoteOrigin marks a context whose acts a remote node asked for: the
// kernel's gate then decides them with that node as the subject.
type remoteOriginKey struct{}

func remoteOriginFrom(ctx context.Context) string {
	s, _ := ctx.Value(remoteOriginKey{}).(string)
	return s
}
