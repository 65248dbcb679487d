package xreflink

import (
	"encoding/json"

	"github.com/weftos/weftos/internal/jcs"
)

// The cross-reference indexer reads every chain event; it needs two to
// five members of each payload. It finds them with jcs.Members, in one
// pass over each object, rather than decoding whole payloads (a decision
// record carries the full request): members are matched by their exact
// names, as the chain's canonical payloads spell them, and a member of
// the wrong type makes the event's payload unreadable, as a decoding
// error did.

// payloadReader reads the members of one object found by one
// jcs.Members call, keeping the first error.
type payloadReader struct {
	raws [maxRead][]byte
	err  error
}

// maxRead is the most members read of one object.
const maxRead = 5

// find finds names in obj; the readers then take them by position.
func (r *payloadReader) find(obj []byte, names ...string) {
	if r.err == nil {
		r.err = jcs.Members(obj, names, r.raws[:len(names)])
	}
}

func (r *payloadReader) str(i int) string {
	if r.err != nil || r.raws[i] == nil {
		return ""
	}
	s, err := jcs.StringValue(r.raws[i])
	r.err = err
	return s
}

func (r *payloadReader) uint(i int) uint64 {
	if r.err != nil || r.raws[i] == nil {
		return 0
	}
	n, err := jcs.UintValue(r.raws[i])
	r.err = err
	return n
}

func (r *payloadReader) bool(i int) bool {
	if r.err != nil || r.raws[i] == nil {
		return false
	}
	b, err := jcs.BoolValue(r.raws[i])
	r.err = err
	return b
}

func (r *payloadReader) raw(i int) json.RawMessage {
	if r.err != nil {
		return nil
	}
	return r.raws[i]
}

// decisionLinks is what the linker reads of a decision or refusal.
type decisionLinks struct {
	ActionID string
	PID      uint64 // request.pid
	CallID   string // request.context.extra.call_id
}

func readDecision(p []byte) (decisionLinks, error) {
	var r payloadReader
	r.find(p, "action_id", "request")
	d := decisionLinks{ActionID: r.str(0)}
	if req := r.raw(1); req != nil {
		r.find(req, "pid", "context")
		d.PID = r.uint(0)
		if ctx := r.raw(1); ctx != nil && r.err == nil {
			d.CallID, r.err = jcs.MemberString(ctx, "extra", "call_id")
		}
	}
	if r.err != nil {
		return decisionLinks{}, r.err
	}
	return d, nil
}

// actLinks is what the linker reads of a governance.ActRecord.
type actLinks struct {
	ActionID string
	PID      uint64
	Session  string
	OK       bool
	Detail   json.RawMessage
}

func readAct(p []byte) (actLinks, error) {
	var r payloadReader
	r.find(p, "action_id", "pid", "session", "ok", "detail")
	a := actLinks{ActionID: r.str(0), PID: r.uint(1), Session: r.str(2), OK: r.bool(3), Detail: r.raw(4)}
	return a, r.err
}

// kernelLinks is what the linker reads of a kernel event.
type kernelLinks struct {
	PID, Parent, From uint64
	ActionID          string
}

func readKernelEvent(p []byte) (kernelLinks, error) {
	var r payloadReader
	r.find(p, "pid", "parent", "from", "action_id")
	k := kernelLinks{PID: r.uint(0), Parent: r.uint(1), From: r.uint(2), ActionID: r.str(3)}
	return k, r.err
}
