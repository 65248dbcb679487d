package governance

import (
	"fmt"

	"github.com/weftos/weftos/internal/jcs"
)

// The canonical (RFC 8785) encodings of the records every agent turn
// writes to the chain, written without reflection: members in the order
// of their names, as jcs.Marshal writes them by reflection. Each must
// give exactly jcs's bytes (TestCanonicalRecords checks them against the
// reference canonicalizer on values that set every field); a field added
// to one of these types must be added here.

var (
	_ jcs.Appender = DecisionRecord{}
	_ jcs.Appender = ActRecord{}
)

// AppendCanonical implements jcs.Appender.
func (r DecisionRecord) AppendCanonical(dst []byte) ([]byte, error) {
	dst = append(dst, `{"action_id":`...)
	dst = jcs.AppendString(dst, r.ActionID)
	dst = append(dst, `,"decision":`...)
	dst, err := r.Decision.appendCanonical(dst)
	if err != nil {
		return dst, err
	}
	dst = append(dst, `,"request":`...)
	if dst, err = r.Request.appendCanonical(dst); err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}

// AppendCanonical implements jcs.Appender.
func (r ActRecord) AppendCanonical(dst []byte) ([]byte, error) {
	dst = append(dst, `{"action":`...)
	dst = jcs.AppendString(dst, r.Action)
	dst = append(dst, `,"action_id":`...)
	dst = jcs.AppendString(dst, r.ActionID)
	dst = append(dst, `,"agent":`...)
	dst = jcs.AppendString(dst, r.Agent)
	if len(r.Detail) > 0 {
		dst = append(dst, `,"detail":`...)
		var err error
		if dst, err = jcs.AppendRaw(dst, r.Detail, 1); err != nil {
			return dst, err
		}
	}
	dst = append(dst, `,"duration_us":`...)
	dst = jcs.AppendInt(dst, r.Micros)
	if r.Error != "" {
		dst = append(dst, `,"error":`...)
		dst = jcs.AppendString(dst, r.Error)
	}
	dst = append(dst, `,"ok":`...)
	dst = jcs.AppendBool(dst, r.OK)
	if r.PID != 0 {
		dst = append(dst, `,"pid":`...)
		dst = jcs.AppendUint(dst, r.PID)
	}
	if r.Session != "" {
		dst = append(dst, `,"session":`...)
		dst = jcs.AppendString(dst, r.Session)
	}
	return append(dst, '}'), nil
}

func (d *Decision) appendCanonical(dst []byte) ([]byte, error) {
	dst = append(dst, `{"constitution_hash":`...)
	dst = jcs.AppendString(dst, d.ConstitutionHash)
	dst = append(dst, `,"constitution_revision":`...)
	dst = jcs.AppendUint(dst, d.ConstitutionRevision)
	dst = append(dst, `,"effect":`...)
	dst, err := d.Effect.appendCanonical(dst)
	if err != nil {
		return dst, err
	}
	dst = append(dst, `,"env":`...)
	dst = jcs.AppendString(dst, d.Env)
	dst = append(dst, `,"magnitude":`...)
	if dst, err = jcs.AppendNumber(dst, d.Magnitude); err != nil {
		return dst, err
	}
	if int(d.Outcome) >= len(outcomeNames) {
		return dst, fmt.Errorf("governance: invalid outcome %d", uint8(d.Outcome)) // as MarshalText
	}
	dst = append(dst, `,"outcome":`...)
	dst = jcs.AppendString(dst, outcomeNames[d.Outcome])
	dst = append(dst, `,"reason":`...)
	dst = jcs.AppendString(dst, d.Reason)
	if len(d.RuleIDs) > 0 {
		dst = append(dst, `,"rule_ids":`...)
		dst = jcs.AppendStrings(dst, d.RuleIDs)
	}
	dst = append(dst, `,"threshold":`...)
	if dst, err = jcs.AppendNumber(dst, d.Threshold); err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}

func (r *Request) appendCanonical(dst []byte) ([]byte, error) {
	dst = append(dst, `{"action":`...)
	dst = jcs.AppendString(dst, r.Action)
	if r.Agent != "" {
		dst = append(dst, `,"agent":`...)
		dst = jcs.AppendString(dst, r.Agent)
	}
	if r.App != "" {
		dst = append(dst, `,"app":`...)
		dst = jcs.AppendString(dst, r.App)
	}
	if len(r.Capabilities) > 0 {
		dst = append(dst, `,"capabilities":`...)
		dst = jcs.AppendStrings(dst, r.Capabilities)
	}
	dst = append(dst, `,"context":`...)
	dst, err := r.Context.appendCanonical(dst)
	if err != nil {
		return dst, err
	}
	dst = append(dst, `,"effect":`...)
	if dst, err = r.Effect.appendCanonical(dst); err != nil {
		return dst, err
	}
	if r.PID != 0 {
		dst = append(dst, `,"pid":`...)
		dst = jcs.AppendUint(dst, r.PID)
	}
	if r.Process != "" {
		dst = append(dst, `,"process":`...)
		dst = jcs.AppendString(dst, r.Process)
	}
	return append(dst, '}'), nil
}

func (c *Context) appendCanonical(dst []byte) ([]byte, error) {
	dst = append(dst, '{')
	empty := true
	if len(c.Extra) > 0 {
		dst = append(dst, `"extra":`...)
		var err error
		if dst, err = jcs.AppendStringMap(dst, c.Extra); err != nil {
			return dst, err
		}
		empty = false
	}
	for _, m := range [...]struct{ key, val string }{{`"host":`, c.Host}, {`"model":`, c.Model}, {`"path":`, c.Path}, {`"tool":`, c.Tool}} {
		if m.val == "" {
			continue
		}
		if !empty {
			dst = append(dst, ',')
		}
		dst = append(dst, m.key...)
		dst = jcs.AppendString(dst, m.val)
		empty = false
	}
	return append(dst, '}'), nil
}

func (e *Effect) appendCanonical(dst []byte) ([]byte, error) {
	var err error
	for _, m := range [...]struct {
		key string
		val float64
	}{{`{"fairness":`, e.Fairness}, {`,"novelty":`, e.Novelty}, {`,"privacy":`, e.Privacy}, {`,"risk":`, e.Risk}, {`,"security":`, e.Security}} {
		dst = append(dst, m.key...)
		if dst, err = jcs.AppendNumber(dst, m.val); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}
