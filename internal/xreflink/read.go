package xreflink

import (
	"encoding/json"

	"github.com/weftos/weftos/internal/jcs"
)

// The cross-reference indexer reads every chain event; it needs two to
// five members of each payload. It finds them with jcs.Member rather than
// decoding whole payloads (a decision record carries the full request):
// members are matched by their exact names, as the chain's canonical
// payloads spell them, and a member of the wrong type makes the event's
// payload unreadable, as a decoding error did.

// payloadReader reads members of one payload, keeping the first error.
type payloadReader struct {
	p   []byte
	err error
}

func (r *payloadReader) str(path ...string) string {
	if r.err != nil {
		return ""
	}
	s, err := jcs.MemberString(r.p, path...)
	r.err = err
	return s
}

func (r *payloadReader) uint(path ...string) uint64 {
	if r.err != nil {
		return 0
	}
	n, err := jcs.MemberUint(r.p, path...)
	r.err = err
	return n
}

func (r *payloadReader) bool(path ...string) bool {
	if r.err != nil {
		return false
	}
	b, err := jcs.MemberBool(r.p, path...)
	r.err = err
	return b
}

func (r *payloadReader) raw(path ...string) json.RawMessage {
	if r.err != nil {
		return nil
	}
	raw, _, err := jcs.Member(r.p, path...)
	r.err = err
	return raw
}

// decisionLinks is what the linker reads of a decision or refusal.
type decisionLinks struct {
	ActionID string
	PID      uint64 // request.pid
	CallID   string // request.context.extra.call_id
}

func readDecision(p []byte) (decisionLinks, error) {
	r := payloadReader{p: p}
	d := decisionLinks{ActionID: r.str("action_id"), PID: r.uint("request", "pid"),
		CallID: r.str("request", "context", "extra", "call_id")}
	return d, r.err
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
	r := payloadReader{p: p}
	a := actLinks{ActionID: r.str("action_id"), PID: r.uint("pid"), Session: r.str("session"),
		OK: r.bool("ok"), Detail: r.raw("detail")}
	return a, r.err
}

// kernelLinks is what the linker reads of a kernel event.
type kernelLinks struct {
	PID, Parent, From uint64
	ActionID          string
}

func readKernelEvent(p []byte) (kernelLinks, error) {
	r := payloadReader{p: p}
	k := kernelLinks{PID: r.uint("pid"), Parent: r.uint("parent"), From: r.uint("from"), ActionID: r.str("action_id")}
	return k, r.err
}
