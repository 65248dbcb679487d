// Package localhttp is the HTTP the local API (internal/localapi, the
// daemon's handlers, internal/client, internal/metrics) is written against:
// in default builds every name is an alias of net/http's, so nothing
// changes on the wire; with the build tag nonethttp (edge builds) the same
// names are internal/minihttp's small HTTP/1.1 subset and the binary links
// no net/http. Only the names those packages use are provided.
//
// nonethttp is only valid together with the tags that compile out the
// layers that use net/http themselves (gateway/channels, UI, MCP, memory's
// remote embedder, LLM providers): guard.go turns any other combination
// into a compile error naming the missing tags.
package localhttp
