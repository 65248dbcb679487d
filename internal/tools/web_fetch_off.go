//go:build nonethttp

package tools

import (
	"context"
	"errors"
)

// ErrWebFetchNotBuilt is web_fetch's error in a build without an HTTPS
// client (tag nonethttp: the edge build links no net/http, see
// internal/localhttp).
var ErrWebFetchNotBuilt = errors.New("web_fetch is not built into this binary (edge build without an HTTP client, tag nonethttp)")

// runWebFetch refuses: the tool stays declared, so agent definitions and
// policies that name it still load, and a call says why it cannot run.
func runWebFetch(_ context.Context, _ *Env, _ *webFetchIn) (any, error) {
	return nil, toolErr("web_fetch", CodeUnavailable, ErrWebFetchNotBuilt, "%v", ErrWebFetchNotBuilt)
}
