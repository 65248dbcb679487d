package agenthost

import (
	"bytes"
	"crypto/sha3"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"sync"

	"github.com/weftos/weftos/internal/llm"
)

// promptHasher computes an llm.call's prompt hash — hashJSON of the
// request, SHAKE-256 over its JSON encoding, whose members are Model,
// System, Tools, Messages and the options, in that order — for one agent,
// without encoding and hashing the whole request each call. Successive
// requests of a conversation carry the same tools and repeat the previous
// one's messages, adding to them: it keeps the hash state after the
// messages it last hashed (with a copy of them, and the tools' encoding,
// to check they are repeated) and hashes only what is new. Whatever does
// not match is hashed in full; the result is always hashJSON(req).
type promptHasher struct {
	mu sync.Mutex
	// The hash state after `{"Model":…,"System":…,"Tools":…,"Messages":[`
	// and the messages of the last request, which are kept in msgs; the
	// tools' encoding it absorbed is toolsIn.
	model, system string
	toolsIn       []byte
	msgs          []llm.Message
	state         []byte // sha3.SHAKE.MarshalBinary
	// The encodings of the host's tool lists, shared by its agents; nil:
	// the encoding of the last request's tools, kept in tools.
	shared   *toolEncodings
	tools    []llm.ToolSpec
	toolsEnc []byte
	// The encoding of the last request's MaxTokens, Temperature and
	// Stop (from `"MaxTokens"`), kept in tailKey.
	tailKey promptTail
	tail    []byte
	// Reused between calls: the hash, and an encoder (HTML escaping on,
	// as json.Marshal) writing into buf.
	h   sha3.SHAKE
	buf bytes.Buffer
	enc *json.Encoder
}

type (
	promptHead struct {
		Model  string
		System string
	}
	promptTail struct {
		MaxTokens   int
		Temperature *float64
		Stop        []string
	}
)

// hash returns hashJSON(req).
func (ph *promptHasher) hash(req *llm.Request) string {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	tail, err1 := ph.tailJSON(req)
	tools, err2 := ph.toolsJSON(req.Tools)
	if err1 != nil || err2 != nil || req.Messages == nil {
		return hashJSON(req) // a request that does not encode, or has no messages
	}
	h, err := ph.messages(req, tools)
	if err != nil {
		return hashJSON(req)
	}
	h.Write([]byte{']', ','})
	h.Write(tail)
	var sum [32]byte
	_, _ = h.Read(sum[:])
	return hexString(sum)
}

// hexString is hex.EncodeToString(sum[:]) with one allocation.
func hexString(sum [32]byte) string {
	var b [64]byte
	hex.Encode(b[:], sum[:])
	return string(b[:])
}

// marshal returns json.Marshal(v) in a buffer valid until the next call.
func (ph *promptHasher) marshal(v any) ([]byte, error) {
	if ph.enc == nil {
		ph.enc = json.NewEncoder(&ph.buf)
	}
	ph.buf.Reset()
	if err := ph.enc.Encode(v); err != nil {
		return nil, err
	}
	b := ph.buf.Bytes()
	return b[:len(b)-1], nil // without Encode's newline
}

// tailJSON returns the encoding of the request's last members, from
// `"MaxTokens"` on, kept from the last call when they are the same.
func (ph *promptHasher) tailJSON(req *llm.Request) ([]byte, error) {
	k := promptTail{MaxTokens: req.MaxTokens, Temperature: req.Temperature, Stop: req.Stop}
	if ph.tail != nil && k.MaxTokens == ph.tailKey.MaxTokens &&
		(k.Temperature == nil) == (ph.tailKey.Temperature == nil) && (k.Temperature == nil || math.Float64bits(*k.Temperature) == math.Float64bits(*ph.tailKey.Temperature)) &&
		(k.Stop == nil) == (ph.tailKey.Stop == nil) && slices.Equal(k.Stop, ph.tailKey.Stop) {
		return ph.tail, nil
	}
	b, err := ph.marshal(k)
	if err != nil {
		return nil, err
	}
	ph.tail = append(ph.tail[:0], b[1:]...)
	ph.tailKey = promptTail{MaxTokens: k.MaxTokens, Stop: slices.Clone(k.Stop)}
	if k.Temperature != nil {
		t := *k.Temperature
		ph.tailKey.Temperature = &t
	}
	return ph.tail, nil
}

// messages returns a hash that has absorbed the request's encoding up to
// its last message (without the closing bracket), given its tools'
// encoding, from the kept state when the request repeats the kept model,
// system prompt, tools and messages. The request's messages are not nil.
func (ph *promptHasher) messages(req *llm.Request, tools []byte) (*sha3.SHAKE, error) {
	h := &ph.h
	h.Reset()
	from := 0
	if ph.state != nil && req.Model == ph.model && req.System == ph.system && len(req.Messages) >= len(ph.msgs) &&
		bytes.Equal(tools, ph.toolsIn) && slices.EqualFunc(req.Messages[:len(ph.msgs)], ph.msgs, sameMessage) {
		if err := h.UnmarshalBinary(ph.state); err != nil {
			return nil, err
		}
		from = len(ph.msgs)
	} else {
		head, err := ph.marshal(promptHead{Model: req.Model, System: req.System})
		if err != nil {
			return nil, err
		}
		h.Write(head[:len(head)-1]) // without the closing brace
		h.Write([]byte(`,"Tools":`))
		h.Write(tools)
		h.Write([]byte(`,"Messages":[`))
	}
	for i, m := range req.Messages[from:] {
		b, err := ph.marshal(m)
		if err != nil {
			ph.state = nil
			return nil, err
		}
		if from+i > 0 {
			h.Write([]byte{','})
		}
		h.Write(b)
	}
	state, err := h.AppendBinary(ph.state[:0])
	if err != nil {
		ph.state = nil
		return nil, err
	}
	ph.model, ph.system, ph.toolsIn, ph.state = req.Model, req.System, tools, state
	ph.msgs = ph.msgs[:from]
	for _, m := range req.Messages[from:] {
		ph.msgs = append(ph.msgs, copyMessage(m))
	}
	return h, nil
}

// sameMessage reports whether a and b encode alike.
func sameMessage(a, b llm.Message) bool {
	return a.Role == b.Role && a.Content == b.Content && a.ToolCallID == b.ToolCallID && a.IsError == b.IsError &&
		slices.EqualFunc(a.ToolCalls, b.ToolCalls, func(x, y llm.ToolCall) bool {
			return x.ID == y.ID && x.Name == y.Name && (x.Arguments == nil) == (y.Arguments == nil) && bytes.Equal(x.Arguments, y.Arguments)
		}) && (a.ToolCalls == nil) == (b.ToolCalls == nil)
}

// copyMessage copies m so that later changes to the caller's arguments do
// not change it.
func copyMessage(m llm.Message) llm.Message {
	if m.ToolCalls != nil {
		calls := make([]llm.ToolCall, len(m.ToolCalls))
		for i, c := range m.ToolCalls {
			calls[i] = llm.ToolCall{ID: c.ID, Name: c.Name, Arguments: bytes.Clone(c.Arguments)}
		}
		m.ToolCalls = calls
	}
	return m
}

// toolsJSON returns the encoding of tools: from the shared encodings when
// the hasher has them, else kept from its last call when they are the same.
func (ph *promptHasher) toolsJSON(tools []llm.ToolSpec) ([]byte, error) {
	if ph.shared != nil {
		return ph.shared.encoded(tools)
	}
	if ph.toolsEnc != nil && sameSpecs(tools, ph.tools) {
		return ph.toolsEnc, nil
	}
	enc, err := json.Marshal(tools)
	if err != nil {
		return nil, err
	}
	ph.toolsEnc, ph.tools = enc, llm.CloneTools(tools)
	return ph.toolsEnc, nil
}

// sameSpecs reports whether two tool lists encode alike: equal field by
// field (llm.SameTools), and both nil or neither (Tools has no omitempty).
func sameSpecs(a, b []llm.ToolSpec) bool {
	return (a == nil) == (b == nil) && llm.SameTools(a, b)
}

// toolEncodings are the JSON encodings of the tool lists a host's agents
// offer, shared by their prompt hashers. Agents of one definition offer
// the same tools, and each hasher compared them with a copy of its own,
// which a thousand agents' other work had pushed out of the CPU's caches
// by its next call (≈ 4 % of the daemon's CPU at 1,000 agents); the shared
// copies stay in cache. Each list is compared field by field with a deep
// copy, as before, so a caller changing a schema in place gets a fresh
// encoding.
type toolEncodings struct {
	mu   sync.Mutex
	sets []toolEncoding // most recently used first
}

type toolEncoding struct {
	specs []llm.ToolSpec // deep copy
	enc   []byte
}

// maxToolSets bounds toolEncodings: the least recently used goes.
const maxToolSets = 16

func (te *toolEncodings) encoded(tools []llm.ToolSpec) ([]byte, error) {
	te.mu.Lock()
	for i, s := range te.sets {
		if sameSpecs(tools, s.specs) {
			copy(te.sets[1:i+1], te.sets[:i])
			te.sets[0] = s
			te.mu.Unlock()
			return s.enc, nil
		}
	}
	te.mu.Unlock()
	enc, err := json.Marshal(tools)
	if err != nil {
		return nil, err
	}
	te.mu.Lock()
	defer te.mu.Unlock()
	if len(te.sets) < maxToolSets {
		te.sets = append(te.sets, toolEncoding{})
	}
	copy(te.sets[1:], te.sets[:len(te.sets)-1])
	te.sets[0] = toolEncoding{specs: llm.CloneTools(tools), enc: enc}
	return enc, nil
}
