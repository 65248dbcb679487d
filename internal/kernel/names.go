package kernel

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen caps process, topic, service and cron job names, in bytes.
const MaxNameLen = 128

// CheckName reports whether s is acceptable as a name of kind what
// ("process", "topic", …): non-empty, at most MaxNameLen bytes of valid
// UTF-8, without control or formatting characters (newlines, escape
// sequences, bidirectional overrides), so a name printed in a table or a
// log line is exactly what it looks like. Names chosen by a model (the
// spawn_agent tool) pass through here like any other.
func CheckName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty %s name", ErrInvalid, what)
	case len(s) > MaxNameLen:
		return fmt.Errorf("%w: %s name is %d bytes; the limit is %d", ErrInvalid, what, len(s), MaxNameLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s name %q is not valid UTF-8", ErrInvalid, what, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("%w: %s name %q contains the control character %U", ErrInvalid, what, s, r)
		}
	}
	return nil
}
