// Package layers names the optional layers of a WeftOS binary and says
// which of them this build contains. A build tag compiles a layer out
// (`go build -tags nomesh,noui ./cmd/weave`): its packages and their
// dependencies are not linked, and whatever would use the layer answers
// with NotBuilt instead (docs/ARCHITECTURE.md, "Build tags").
package layers

import (
	"errors"
	"fmt"
)

// The optional layers. The kernel, the chain, governance, the authority
// pipeline, the local API, ECC and apps are always built.
const (
	Mesh     = "mesh"     // the cluster: mesh links, SWIM, Raft, witnessing
	Sandbox  = "sandbox"  // WASM tools on wazero
	Memory   = "memory"   // semantic memory: the store, HNSW, embedders
	Channels = "channels" // the gateway and the chat channels
	MCP      = "mcp"      // MCP: weave mcp serve, the gateway's /mcp, agents' MCP servers
	UI       = "ui"       // the control UI
	LLM      = "llm"      // the model providers and the LLM agents that use them
)

// Layer is one optional layer and whether this binary contains it.
type Layer struct {
	Name  string // e.g. "mesh"
	Tag   string // the build tag that compiles it out, e.g. "nomesh"
	Built bool
}

// all lists every optional layer in a fixed order.
var all = []string{Mesh, Sandbox, Memory, Channels, MCP, UI, LLM}

// off holds the layers compiled out, each with the tag that compiled it
// out; each no<layer>.go file adds its own in init when its tag is set. A
// layer that only exists to serve another goes with it: nollm also
// compiles out the channels and MCP (the gateway, the chat channels and
// MCP's tools all talk to agents), so it adds those too.
var off = map[string]string{}

// All returns every optional layer, built or not, in a fixed order.
func All() []Layer {
	out := make([]Layer, len(all))
	for i, name := range all {
		out[i] = Layer{Name: name, Tag: Tag(name), Built: off[name] == ""}
	}
	return out
}

// Built reports whether the layer is in this binary. An unknown name is
// not.
func Built(name string) bool {
	for _, n := range all {
		if n == name {
			return off[name] == ""
		}
	}
	return false
}

// Missing returns the layers compiled out of this binary, in All's order.
func Missing() []string {
	var out []string
	for _, n := range all {
		if off[n] != "" {
			out = append(out, n)
		}
	}
	return out
}

// Tag is the build tag that compiles the layer out.
func Tag(name string) string { return "no" + name }

// OffBy is the build tag that compiled the layer out of this binary: its
// own, or that of the layer it serves (nochannels' layer is also compiled
// out by nollm); "" when the layer is built.
func OffBy(name string) string { return off[name] }

// compileOut records that tag compiled the layer out; a layer's own tag
// wins over one that implies it.
func compileOut(name, tag string) {
	if off[name] != Tag(name) {
		off[name] = tag
	}
}

// ErrNotBuilt is what every use of a layer compiled out of the binary
// returns (wrapped in a *NotBuiltError); at the local API its code is
// layer_not_built.
var ErrNotBuilt = errors.New("layer not built into this binary")

// NotBuiltError names the layer that is missing.
type NotBuiltError struct{ Layer string }

func (e *NotBuiltError) Error() string {
	tag := OffBy(e.Layer)
	if tag == "" {
		tag = Tag(e.Layer)
	}
	return fmt.Sprintf("layer %q is not built into this binary (built with -tags %s)", e.Layer, tag)
}

// Is makes errors.Is(err, ErrNotBuilt) hold.
func (e *NotBuiltError) Is(target error) bool { return target == ErrNotBuilt }

// NotBuilt is the error for a use of the named layer in a binary built
// without it.
func NotBuilt(name string) error { return &NotBuiltError{Layer: name} }
