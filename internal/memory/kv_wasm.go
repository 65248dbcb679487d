//go:build js || wasip1

package memory

import "context"

// persistent reports whether the kv backend keeps data across Close: on
// js/wasm and wasip1 the store is in-process only.
const persistent = false

func openKV(_ context.Context, _ string) (kv, error) { return newMemKV(), nil }
