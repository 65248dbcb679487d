package schedule

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Values of ParseError.Field.
const (
	FieldMinute     = "minute"
	FieldHour       = "hour"
	FieldDayOfMonth = "day-of-month"
	FieldMonth      = "month"
	FieldDayOfWeek  = "day-of-week"
	// FieldInterval marks a bad "@every" duration.
	FieldInterval = "@every"
)

// ErrInvalid is matched (errors.Is) by every error Parse returns.
var ErrInvalid = errors.New("schedule: invalid specification")

// ParseError describes why Parse rejected a specification.
type ParseError struct {
	Spec   string // the specification as passed to Parse
	Field  string // one of the Field constants, or "" if the whole spec is at fault
	Token  string // the offending text (a list element, a field, a macro, or the spec)
	Reason string // what is wrong with Token
}

// Error formats the error as
// `schedule: <field> field "<token>": <reason>`, or without the field part
// when the problem concerns the specification as a whole.
func (e *ParseError) Error() string {
	switch e.Field {
	case "":
		return fmt.Sprintf("schedule: %q: %s", e.Token, e.Reason)
	case FieldInterval:
		return fmt.Sprintf("schedule: @every duration %q: %s", e.Token, e.Reason)
	default:
		return fmt.Sprintf("schedule: %s field %q: %s", e.Field, e.Token, e.Reason)
	}
}

// Unwrap returns ErrInvalid, so errors.Is(err, ErrInvalid) holds.
func (e *ParseError) Unwrap() error { return ErrInvalid }

// field describes one of the five cron fields.
type field struct {
	name     string
	min, max int
	names    []string // names[i] stands for nameBase+i
	nameBase int
	nameDesc string // e.g. "month name (JAN-DEC)"
}

var (
	monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayNames   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

	cronFields = [5]field{
		{name: FieldMinute, min: 0, max: 59},
		{name: FieldHour, min: 0, max: 23},
		{name: FieldDayOfMonth, min: 1, max: 31},
		{name: FieldMonth, min: 1, max: 12, names: monthNames, nameBase: 1, nameDesc: "month name (JAN-DEC)"},
		{name: FieldDayOfWeek, min: 0, max: 7, names: dayNames, nameBase: 0, nameDesc: "day name (SUN-SAT)"},
	}

	macros = map[string]string{
		"@yearly":   "0 0 1 1 *",
		"@annually": "0 0 1 1 *",
		"@monthly":  "0 0 1 * *",
		"@weekly":   "0 0 * * 0",
		"@daily":    "0 0 * * *",
		"@midnight": "0 0 * * *",
		"@hourly":   "0 * * * *",
	}
)

const macroList = "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>"

// Parse parses a cron expression, a macro or "@every <duration>"; see the
// package documentation for the syntax. Errors are *ParseError values that
// match ErrInvalid.
func Parse(spec string) (Schedule, error) {
	parts := strings.Fields(spec)
	if len(parts) == 0 {
		return nil, &ParseError{Spec: spec, Token: spec, Reason: "empty specification"}
	}
	if strings.HasPrefix(parts[0], "@") {
		return parseMacro(spec, parts)
	}
	if len(parts) != 5 {
		return nil, &ParseError{Spec: spec, Token: strings.Join(parts, " "), Reason: fmt.Sprintf(
			"expected 5 fields (minute hour day-of-month month day-of-week) or a macro, got %d", len(parts))}
	}
	return parseCron(spec, strings.Join(parts, " "), parts)
}

func parseMacro(spec string, parts []string) (Schedule, error) {
	name := strings.ToLower(parts[0])
	if name == "@every" {
		if len(parts) != 2 {
			return nil, &ParseError{Spec: spec, Token: strings.Join(parts, " "),
				Reason: `@every takes exactly one duration, e.g. "@every 5m"`}
		}
		d, err := time.ParseDuration(parts[1])
		if err != nil {
			return nil, &ParseError{Spec: spec, Field: FieldInterval, Token: parts[1],
				Reason: "not a Go duration (e.g. 90s, 5m, 1h30m)"}
		}
		if d < MinInterval {
			return nil, &ParseError{Spec: spec, Field: FieldInterval, Token: parts[1],
				Reason: fmt.Sprintf("interval %s is shorter than the minimum %s", d, MinInterval)}
		}
		return Interval(d), nil
	}
	expansion, ok := macros[name]
	if !ok {
		return nil, &ParseError{Spec: spec, Token: parts[0], Reason: "unknown macro (want " + macroList + ")"}
	}
	if len(parts) != 1 {
		return nil, &ParseError{Spec: spec, Token: strings.Join(parts, " "),
			Reason: fmt.Sprintf("macro %s takes no arguments", name)}
	}
	return parseCron(spec, name, strings.Fields(expansion))
}

// parseCron builds a cron schedule from five fields; text is what String
// returns.
func parseCron(spec, text string, parts []string) (Schedule, error) {
	var masks [5]uint64
	var stars [5]bool
	for i, f := range cronFields {
		m, token, reason := f.parse(parts[i])
		if reason != "" {
			return nil, &ParseError{Spec: spec, Field: f.name, Token: token, Reason: reason}
		}
		masks[i], stars[i] = m, strings.HasPrefix(parts[i], "*")
	}
	return newCron(text, masks, stars[2] || stars[4]), nil
}

// parse returns the set of values the field text selects as a bit mask. On
// failure it returns the offending token and a non-empty reason.
func (f *field) parse(text string) (mask uint64, token, reason string) {
	for elem := range strings.SplitSeq(text, ",") {
		if elem == "" {
			return 0, text, "empty list element"
		}
		m, reason := f.parseElem(elem)
		if reason != "" {
			return 0, elem, reason
		}
		mask |= m
	}
	if f.name == FieldDayOfWeek && mask&(1<<7) != 0 { // 7 is Sunday too
		mask = mask&^(1<<7) | 1
	}
	return mask, "", ""
}

// parseElem parses one list element: "*", "v", "lo-hi", each optionally
// followed by "/step".
func (f *field) parseElem(elem string) (uint64, string) {
	rng, stepText, hasStep := strings.Cut(elem, "/")
	step := 1
	if hasStep {
		span := f.max - f.min + 1
		switch n, ok := number(stepText); {
		case strings.Contains(stepText, "/"):
			return 0, `more than one "/"`
		case !ok && !isDigits(stepText):
			return 0, fmt.Sprintf("step %q is not a positive integer", stepText)
		case !ok || n < 1 || n > span:
			return 0, fmt.Sprintf("step %s out of range 1-%d", stepText, span)
		default:
			step = n
		}
	}
	var lo, hi int
	switch {
	case rng == "*":
		lo, hi = f.min, f.max
	case strings.Contains(rng, "*"):
		return 0, `"*" must stand alone or be followed by "/step"`
	case rng == "":
		return 0, `missing value before "/"`
	default:
		loText, hiText, isRange := strings.Cut(rng, "-")
		var reason string
		if lo, reason = f.value(loText, "range start"); reason != "" {
			return 0, reason
		}
		switch {
		case isRange:
			if strings.Contains(hiText, "-") {
				return 0, `more than one "-"`
			}
			if hi, reason = f.value(hiText, "range end"); reason != "" {
				return 0, reason
			}
			if f.name == FieldDayOfWeek && lo > 0 && strings.EqualFold(hiText, "SUN") {
				hi = 7 // "FRI-SUN" wraps to the week's end
			}
			if lo > hi {
				return 0, fmt.Sprintf("range start %d is greater than range end %d", lo, hi)
			}
		case hasStep: // "N/step" means "N-max/step"
			hi = f.max
		default:
			hi = lo
		}
	}
	var m uint64
	for v := lo; v <= hi; v += step {
		m |= 1 << uint(v)
	}
	return m, ""
}

// value parses a number or, for month and day-of-week, a name. what names
// the role of an empty text ("range start", "range end").
func (f *field) value(text, what string) (int, string) {
	if text == "" {
		return 0, "missing " + what
	}
	if n, ok := number(text); ok {
		if n < f.min || n > f.max {
			return 0, fmt.Sprintf("value %s out of range %d-%d", text, f.min, f.max)
		}
		return n, ""
	}
	if isDigits(text) { // too many digits for number
		return 0, fmt.Sprintf("value %s out of range %d-%d", text, f.min, f.max)
	}
	for i, name := range f.names {
		if strings.EqualFold(text, name) {
			return f.nameBase + i, ""
		}
	}
	if f.names != nil {
		return 0, fmt.Sprintf("%q is not a number or %s", text, f.nameDesc)
	}
	return 0, fmt.Sprintf("%q is not a number", text)
}

// number parses a short run of ASCII digits; longer or other text is not a
// number.
func number(s string) (int, bool) {
	if s == "" || len(s) > 6 || !isDigits(s) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
