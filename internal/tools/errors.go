package tools

import (
	"errors"
	"fmt"
)

// Error codes carried by [ToolError]. They are stable: the agent loop and the
// chain record them, and callers branch on them through the sentinels below.
const (
	CodeInvalidInput = "invalid_input" // the input does not match the schema or is unusable
	CodePathEscape   = "path_escape"   // the path leaves the workspace
	CodeNotFound     = "not_found"     // file, directory, program or match not found
	CodeNotUnique    = "not_unique"    // edit_file: old_string occurs more than once
	CodeDenied       = "denied"        // refused by the tool policy
	CodeTooLarge     = "too_large"     // a size limit was exceeded
	CodeTimeout      = "timeout"       // the operation ran out of time
	CodeUnavailable  = "unavailable"   // a dependency (kernel, network) is missing
	CodeFailed       = "failed"        // the operation failed for another reason
	CodeProtected    = "protected"     // a control file agents may read but not change
	CodeForbidden    = "forbidden"     // a path (the WeftOS home) no agent tool may touch
)

// Sentinel errors, one per code: errors.Is(err, ErrPathEscape) holds for a
// *ToolError with Code == CodePathEscape.
var (
	ErrInvalidInput = errors.New(CodeInvalidInput)
	ErrPathEscape   = errors.New(CodePathEscape)
	ErrNotFound     = errors.New(CodeNotFound)
	ErrNotUnique    = errors.New(CodeNotUnique)
	ErrDenied       = errors.New(CodeDenied)
	ErrTooLarge     = errors.New(CodeTooLarge)
	ErrTimeout      = errors.New(CodeTimeout)
	ErrUnavailable  = errors.New(CodeUnavailable)
	ErrFailed       = errors.New(CodeFailed)
	ErrProtected    = errors.New(CodeProtected)
	ErrForbidden    = errors.New(CodeForbidden)
)

var sentinels = map[string]error{
	CodeInvalidInput: ErrInvalidInput,
	CodePathEscape:   ErrPathEscape,
	CodeNotFound:     ErrNotFound,
	CodeNotUnique:    ErrNotUnique,
	CodeDenied:       ErrDenied,
	CodeTooLarge:     ErrTooLarge,
	CodeTimeout:      ErrTimeout,
	CodeUnavailable:  ErrUnavailable,
	CodeFailed:       ErrFailed,
	CodeProtected:    ErrProtected,
	CodeForbidden:    ErrForbidden,
}

// ToolError is the error every tool returns. Msg is written for a language
// model: it says what went wrong and, where possible, what to do instead.
type ToolError struct {
	Tool string // tool name, e.g. "read_file"
	Code string // one of the Code* constants
	Msg  string // human- and model-readable explanation
	Err  error  // underlying cause, if any (not shown to the model)
}

// Error implements error.
func (e *ToolError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Tool, e.Code, e.Msg)
}

// Unwrap exposes the code's sentinel and the underlying cause.
func (e *ToolError) Unwrap() []error {
	out := make([]error, 0, 2)
	if s, ok := sentinels[e.Code]; ok {
		out = append(out, s)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

func toolErr(tool, code string, cause error, format string, args ...any) *ToolError {
	return &ToolError{Tool: tool, Code: code, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// ErrorCode returns the code of the first *ToolError in err's chain, or
// CodeFailed for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var te *ToolError
	if errors.As(err, &te) {
		return te.Code
	}
	return CodeFailed
}
