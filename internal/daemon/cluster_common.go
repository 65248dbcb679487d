package daemon

import (
	"context"
)

// What the governance and authority wiring needs of the cluster whether
// or not the mesh layer is built in: a chain written by a node in a
// cluster replays anywhere.

// remoteOrigin marks a context whose acts a remote node asked for: the
// kernel's gate then decides them with that node as the subject.
type remoteOriginKey struct{}

func remoteOriginFrom(ctx context.Context) string {
	s, _ := ctx.Value(remoteOriginKey{}).(string)
	return s
}
