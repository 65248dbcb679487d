package schedule

import (
	"errors"
	"testing"
	"time"
)

// FuzzParse checks that Parse never panics, that every error is a
// *ParseError matching ErrInvalid and carrying the input, and that a parsed
// schedule round-trips through String and yields strictly increasing
// activations (or the zero time) in UTC and in a zone with DST.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"* * * * *", "*/5 * * * *", "5/15 1-30/2 * * *", "0 0 1,15 * MON", "0 0 */2 * mon-fri",
		"0 0 29 2 *", "0 0 30 2 *", "0 12 29 2 */7", "30 2 * * *", "*/15 1-2 * * *", "0 0 * * FRI-SUN",
		"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly", "@every 90s",
		"@every 1h", "", "@", "@every 0s", "61 * * * *", "1,,2 * * * *", "*/0 * * * *", "1-2-3 * * * *",
		"* * * *", "\t0\n0 * *\r*", "99999999999 * * * *", "0 0 * * 1#2", "*/99999 * * * *",
	} {
		f.Add(seed)
	}
	ny := mustLoc(f, "America/New_York")
	starts := []time.Time{
		time.Date(2026, 3, 8, 0, 59, 0, 0, ny),
		time.Date(2026, 11, 1, 0, 59, 30, 0, ny),
		time.Date(2024, 2, 28, 23, 59, 0, 0, time.UTC),
		{},
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := Parse(spec)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v (%T) is not a *ParseError matching ErrInvalid", spec, err, err)
			}
			if pe.Spec != spec || pe.Reason == "" {
				t.Fatalf("Parse(%q): ParseError %+v", spec, pe)
			}
			return
		}
		again, err := Parse(s.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", spec, s.String(), err)
		}
		for _, start := range starts {
			at, atAgain := start, start
			for range 4 {
				next := s.Next(at)
				if nextAgain := again.Next(atAgain); !next.Equal(nextAgain) {
					t.Fatalf("%q.Next(%v) = %v but its String %q gives %v", spec, at, next, s.String(), nextAgain)
				}
				if next.IsZero() {
					break
				}
				if !next.After(at) {
					t.Fatalf("%q.Next(%v) = %v, not strictly after", spec, at, next)
				}
				if c, ok := s.(*cron); ok && !c.matches(next) {
					t.Fatalf("%q.Next(%v) = %v, which does not match", spec, at, next)
				}
				at, atAgain = next, next
			}
		}
	})
}
