// Package schedule computes activation times for the kernel's cron service.
//
// A [Schedule] answers one question: given an instant, when is the next
// activation strictly after it? Two kinds exist:
//
//   - cron expressions, parsed by [Parse]: the standard five fields
//     "minute hour day-of-month month day-of-week" with "*", lists ("1,15"),
//     ranges ("9-17"), steps ("*/5", "1-30/2", "5/15" meaning 5-max/15),
//     month names JAN–DEC and day names SUN–SAT (case-insensitive), and
//     day-of-week 0–7 where both 0 and 7 mean Sunday (SUN as the end of a
//     range means 7, so "FRI-SUN" works); plus the macros
//     @yearly (@annually), @monthly, @weekly, @daily (@midnight) and @hourly;
//   - fixed intervals: "@every <duration>" (a Go duration of at least 1s)
//     through [Parse], or [Interval] directly.
//
// # Day-of-month and day-of-week
//
// As in Vixie cron and cronie, when both day fields are restricted a day
// matches if EITHER matches: "0 0 1,15 * MON" fires on the 1st, the 15th and
// every Monday. A field counts as unrestricted when it is written starting
// with "*" (so "*" and "*/2" are unrestricted, "1-31" is restricted); when
// either field is unrestricted a day must match both, which in practice means
// the other field alone decides.
//
// # Time zones and daylight saving time
//
// A cron schedule has no zone of its own: Next evaluates the expression on the
// wall clock of the location of the time passed in (after.Location()), and
// returns a time in that location. Callers choose the zone with
// time.Time.In, e.g. sched.Next(now.In(loc)); a UTC time gives UTC schedules.
//
// Cron schedules are wall-clock schedules. A wall-clock time that does not
// exist on a given day because the clocks jump forward (02:30 on a spring-
// forward night in America/New_York) does not fire that day. A wall-clock
// time that occurs twice because the clocks fall back (01:30 on the autumn
// night) fires once, at its first occurrence. This applies to every matching
// minute: a "*/15 * * * *" job fires at 01:00, 01:15, 01:30 and 01:45 of the
// first pass through the repeated hour and is silent during the second pass.
// Jobs that must run at a fixed elapsed-time rate regardless of the wall clock
// should use an interval schedule instead.
//
// Formally, a cron schedule is the set of instants that are the first
// occurrence of a matching wall-clock minute, and Next returns the smallest
// member strictly after its argument; successive calls are therefore strictly
// increasing.
//
// # Search horizon
//
// Next searches at most 400 years past the year of its argument. The Gregorian
// calendar repeats exactly every 400 years, so an expression that matches any
// date matches one inside the horizon; a zero time therefore means "never"
// (barring a zone whose clocks skip every matching wall-clock time).
// Expressions that can never match any date, such as "0 0 30 2 *"
// (30 February), are recognised when parsed and their Next returns the zero
// time immediately. Next does constant work per month searched, so even the
// full horizon costs microseconds.
//
// Schedules are immutable and safe for concurrent use.
//
// # Errors
//
// [Parse] reports every problem as a [*ParseError] naming the field and the
// offending token, e.g.
//
//	schedule: minute field "61": value 61 out of range 0-59
//
// and errors.Is(err, ErrInvalid) holds for all of them.
package schedule

import "time"

// Schedule yields activation times.
type Schedule interface {
	// Next returns the first activation strictly after after, or the zero
	// time if there is none.
	Next(after time.Time) time.Time
	// String returns the specification in a form Parse accepts (for
	// schedules built by Parse or by Interval with d >= MinInterval).
	String() string
}

// MinInterval is the shortest interval "@every" accepts.
const MinInterval = time.Second

// Interval returns a schedule that fires every d: Next(t) is t+d. Callers
// that want drift-free ticks pass the previous scheduled time rather than the
// time the job actually ran.
//
// Interval does not enforce MinInterval (Parse does, for text from users), so
// programmatic callers such as tests driving a fake clock may use shorter
// intervals. A d of zero or less yields a schedule that never fires.
func Interval(d time.Duration) Schedule { return interval{d: d} }

type interval struct{ d time.Duration }

var _ Schedule = interval{}

// Next returns after+d, or the zero time if d <= 0.
func (i interval) Next(after time.Time) time.Time {
	if i.d <= 0 {
		return time.Time{}
	}
	return after.Add(i.d)
}

// String returns "@every " followed by the duration.
func (i interval) String() string { return "@every " + i.d.String() }
