package schedule

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the host's zoneinfo
)

func mustLoc(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// TestNext follows each schedule from a start time and compares the
// successive activations, offsets included, with the expected RFC 3339
// times ("never" for the zero time).
func TestNext(t *testing.T) {
	tests := []struct {
		name, spec, zone, after string
		want                    []string
	}{
		{"every minute", "* * * * *", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"}},
		{"strictly after, seconds dropped", "* * * * *", "UTC", "2026-01-01T00:00:30.5Z",
			[]string{"2026-01-01T00:01:00Z"}},
		{"exact match is not returned", "0 12 * * *", "UTC", "2026-05-05T12:00:00Z",
			[]string{"2026-05-06T12:00:00Z"}},
		{"month boundary", "0 0 1 * *", "UTC", "2026-01-31T23:59:00Z",
			[]string{"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"}},
		{"year boundary", "59 23 31 12 *", "UTC", "2025-12-31T23:59:00Z",
			[]string{"2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"}},
		{"hourly across new year", "@hourly", "UTC", "2025-12-31T23:30:00Z",
			[]string{"2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"}},
		{"31st skips short months", "0 0 31 * *", "UTC", "2026-01-31T00:00:00Z",
			[]string{"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z", "2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z"}},
		{"leap day", "0 0 29 2 *", "UTC", "2023-06-01T00:00:00Z",
			[]string{"2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"leap day across 2100", "0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z",
			[]string{"2104-02-29T00:00:00Z"}},
		{"2000 is a leap year", "0 0 29 2 *", "UTC", "1997-01-01T00:00:00Z",
			[]string{"2000-02-29T00:00:00Z", "2004-02-29T00:00:00Z"}},
		{"leap Sunday (dom AND dow)", "0 12 29 2 */7", "UTC", "2004-03-01T00:00:00Z",
			[]string{"2032-02-29T12:00:00Z", "2060-02-29T12:00:00Z", "2088-02-29T12:00:00Z", "2128-02-29T12:00:00Z"}},
		{"dom OR dow", "0 0 1,15 * MON", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-05T00:00:00Z", "2026-01-12T00:00:00Z", "2026-01-15T00:00:00Z", "2026-01-19T00:00:00Z", "2026-01-26T00:00:00Z", "2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z"}},
		{"13th OR Friday", "0 0 13 * FRI", "UTC", "2026-02-01T00:00:00Z",
			[]string{"2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z", "2026-02-27T00:00:00Z", "2026-03-06T00:00:00Z", "2026-03-13T00:00:00Z"}},
		{"starred dom ANDs with dow", "0 0 */2 * MON", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z", "2026-02-23T00:00:00Z", "2026-03-09T00:00:00Z"}},
		{"dow only", "30 8 * * SAT,SUN", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-03T08:30:00Z", "2026-01-04T08:30:00Z", "2026-01-10T08:30:00Z"}},
		{"dow 7 is Sunday", "0 0 * * 7", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
		{"steps", "*/20 9-17/4 * * *", "UTC", "2026-01-01T09:30:00Z",
			[]string{"2026-01-01T09:40:00Z", "2026-01-01T13:00:00Z", "2026-01-01T13:20:00Z", "2026-01-01T13:40:00Z", "2026-01-01T17:00:00Z", "2026-01-01T17:20:00Z", "2026-01-01T17:40:00Z", "2026-01-02T09:00:00Z"}},
		{"value/step", "5/15 * * * *", "UTC", "2026-01-01T00:50:00Z",
			[]string{"2026-01-01T01:05:00Z", "2026-01-01T01:20:00Z", "2026-01-01T01:35:00Z", "2026-01-01T01:50:00Z", "2026-01-01T02:05:00Z"}},
		{"range/step", "1-30/10 0 * * *", "UTC", "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T00:01:00Z", "2026-01-01T00:11:00Z", "2026-01-01T00:21:00Z", "2026-01-02T00:01:00Z"}},
		{"quarterly", "0 0 1 */3 *", "UTC", "2026-02-15T00:00:00Z",
			[]string{"2026-04-01T00:00:00Z", "2026-07-01T00:00:00Z", "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
		{"30 February never fires", "0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", []string{"never"}},
		{"31 April never fires", "0 0 31 4 *", "UTC", "2026-01-01T00:00:00Z", []string{"never"}},
		{"fixed zone", "0 9 * * *", "+05:30", "2026-01-01T10:00:00+05:30",
			[]string{"2026-01-02T09:00:00+05:30", "2026-01-03T09:00:00+05:30"}},
		{"the zone of after decides", "0 9 * * *", "UTC", "2026-01-01T10:00:00+05:30",
			[]string{"2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z"}},

		// America/New_York: 2026-03-08 02:00 EST -> 03:00 EDT,
		// 2026-11-01 02:00 EDT -> 01:00 EST.
		{"NY skipped time does not fire", "30 2 * * *", "America/New_York", "2026-03-07T02:30:00-05:00",
			[]string{"2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"}},
		{"NY half-hourly across the gap", "*/30 * * * *", "America/New_York", "2026-03-08T01:15:00-05:00",
			[]string{"2026-03-08T01:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00"}},
		{"NY time after the gap", "0 3 * * *", "America/New_York", "2026-03-08T00:00:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T03:00:00-04:00"}},
		{"NY repeated time fires once", "30 1 * * *", "America/New_York", "2026-11-01T00:00:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"NY half-hourly across the overlap", "*/30 * * * *", "America/New_York", "2026-11-01T00:45:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T02:30:00-05:00"}},
		{"NY from inside the second pass", "*/30 * * * *", "America/New_York", "2026-11-01T01:10:00-05:00",
			[]string{"2026-11-01T02:00:00-05:00"}},
		{"NY daily from inside the second pass", "30 1 * * *", "America/New_York", "2026-11-01T01:40:00-05:00",
			[]string{"2026-11-02T01:30:00-05:00"}},
		{"NY hourly across the overlap", "@hourly", "America/New_York", "2026-11-01T00:30:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"}},
		{"NY given a UTC instant in the overlap", "*/30 * * * *", "America/New_York", "2026-11-01T06:10:00Z",
			[]string{"2026-11-01T02:00:00-05:00"}},

		// Europe/Berlin, east of UTC, where time.Date resolves a repeated
		// wall-clock time to its second occurrence: 2026-10-25 03:00 CEST
		// -> 02:00 CET; 2026-03-29 02:00 CET -> 03:00 CEST.
		{"Berlin repeated time fires once, first pass", "30 2 * * *", "Europe/Berlin", "2026-10-25T00:00:00+02:00",
			[]string{"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
		{"Berlin quarter-hourly across the overlap", "*/15 2 * * *", "Europe/Berlin", "2026-10-25T01:50:00+02:00",
			[]string{"2026-10-25T02:00:00+02:00", "2026-10-25T02:15:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-25T02:45:00+02:00", "2026-10-26T02:00:00+01:00"}},
		{"Berlin skipped time", "30 2 * * *", "Europe/Berlin", "2026-03-28T03:00:00+01:00",
			[]string{"2026-03-30T02:30:00+02:00"}},

		// Australia/Lord_Howe shifts by 30 minutes: 2026-04-05 02:00
		// +11:00 -> 01:30 +10:30; 2026-10-04 02:00 +10:30 -> 02:30 +11:00.
		{"Lord Howe repeated half hour", "45 1 * * *", "Australia/Lord_Howe", "2026-04-05T00:00:00+11:00",
			[]string{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
		{"Lord Howe skipped half hour", "15 2 * * *", "Australia/Lord_Howe", "2026-10-03T03:00:00+10:30",
			[]string{"2026-10-05T02:15:00+11:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var loc *time.Location
			switch tt.zone {
			case "+05:30":
				loc = time.FixedZone("+05:30", 5*3600+1800)
			default:
				loc = mustLoc(t, tt.zone)
			}
			after, err := time.Parse(time.RFC3339Nano, tt.after)
			if err != nil {
				t.Fatal(err)
			}
			after = after.In(loc)
			s := mustParse(t, tt.spec)
			for i, want := range tt.want {
				got := s.Next(after)
				if want == "never" {
					if !got.IsZero() {
						t.Fatalf("Next #%d = %v, want zero time", i+1, got)
					}
					return
				}
				if got.Format(time.RFC3339) != want || got.Location() != loc {
					t.Fatalf("Next #%d after %s = %s (%v), want %s (%v)",
						i+1, after.Format(time.RFC3339), got.Format(time.RFC3339), got.Location(), want, loc)
				}
				after = got
			}
		})
	}
}

// matches reports whether the wall clock of t matches c, by the textbook
// definition (independent of Next's search).
func (c *cron) matches(t time.Time) bool {
	bit := func(m uint64, v int) bool { return m&(1<<uint(v)) != 0 }
	domOK, dowOK := bit(c.dom, t.Day()), bit(c.dow, int(t.Weekday()))
	dayOK := domOK || dowOK
	if c.and {
		dayOK = domOK && dowOK
	}
	return dayOK && bit(c.minute, t.Minute()) && bit(c.hour, t.Hour()) && bit(c.month, int(t.Month()))
}

// reference finds the next match after after in UTC by walking the calendar
// minute by minute (skipping non-matching days and hours), up to limit.
func reference(c *cron, after, limit time.Time) time.Time {
	t := after.Truncate(time.Minute).Add(time.Minute)
	for t.Before(limit) {
		switch {
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case c.hour&(1<<uint(t.Hour())) == 0:
			t = t.Truncate(time.Hour).Add(time.Hour)
		case !c.matches(t):
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}

func (c *cron) dayMatches(day time.Time) bool {
	bit := func(m uint64, v int) bool { return m&(1<<uint(v)) != 0 }
	domOK, dowOK := bit(c.dom, day.Day()), bit(c.dow, int(day.Weekday()))
	dayOK := domOK || dowOK
	if c.and {
		dayOK = domOK && dowOK
	}
	return dayOK && bit(c.month, int(day.Month()))
}

// TestNextMatchesReference compares Next in UTC with the brute-force walk for
// many expressions and random start times.
func TestNextMatchesReference(t *testing.T) {
	specs := []string{
		"* * * * *", "*/7 */5 * * *", "0 0 1,15 * MON", "13 13 13 * FRI", "0 0 */2 * MON",
		"59 23 28-31 * *", "0 12 29 2 *", "5/15 1-22/3 * 1/2 1-5", "0 0 31 1,3,5,7,8,10,12 SUN",
		"30 4 1-7 * 6", "15,45 0-23/6 10-20 jun-aug *", "0 0 1 1 *", "0 0 */30 2 1",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, spec := range specs {
		s := mustParse(t, spec)
		c := s.(*cron)
		for range 25 {
			after := base.Add(time.Duration(rng.Int64N(int64(12 * 365 * 24 * time.Hour))))
			limit := after.AddDate(12, 0, 0)
			want := reference(c, after, limit)
			got := s.Next(after)
			if want.IsZero() {
				if !got.IsZero() && got.Before(limit) {
					t.Fatalf("%q.Next(%v) = %v, reference found nothing before %v", spec, after, got, limit)
				}
				continue
			}
			if !got.Equal(want) {
				t.Fatalf("%q.Next(%v) = %v, want %v", spec, after, got, want)
			}
			if !c.matches(got) {
				t.Fatalf("%q.Next(%v) = %v, which does not match", spec, after, got)
			}
		}
	}
}

func TestNeverTerminatesQuickly(t *testing.T) {
	for _, spec := range []string{"0 0 30 2 *", "0 0 31 2,4,6,9,11 *", "* * 30,31 feb *"} {
		s := mustParse(t, spec)
		for _, after := range []time.Time{{}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC)} {
			if got := s.Next(after); !got.IsZero() {
				t.Errorf("%q.Next(%v) = %v, want zero", spec, after, got)
			}
		}
	}
}

func TestInterval(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	start := time.Date(2026, 11, 1, 0, 30, 0, 0, ny)
	s := mustParse(t, "@every 30m")
	got := []string{}
	for at := start; len(got) < 4; {
		at = s.Next(at)
		got = append(got, at.Format(time.RFC3339))
	}
	// Elapsed time, not wall clock: the repeated hour is covered twice.
	want := []string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("interval activations = %v, want %v", got, want)
		}
	}
	for _, d := range []time.Duration{0, -time.Second} {
		if next := Interval(d).Next(start); !next.IsZero() {
			t.Errorf("Interval(%v).Next = %v, want zero", d, next)
		}
	}
	if next := Interval(time.Millisecond).Next(start); !next.Equal(start.Add(time.Millisecond)) {
		t.Errorf("Interval(1ms).Next = %v", next)
	}
}

func BenchmarkNext(b *testing.B) {
	ny := mustLoc(b, "America/New_York")
	// Each case walks forward from its start year and restarts after two
	// years, so the figures reflect dates near the start (for New York,
	// beyond 2037 Go evaluates the zone's POSIX rule on every lookup, which
	// is slower; the 2040 case shows that cost).
	cases := []struct {
		name, spec string
		loc        *time.Location
		year       int
	}{
		{"every-minute/UTC", "* * * * *", time.UTC, 2026},
		{"every-minute/NewYork", "* * * * *", ny, 2026},
		{"workdays/UTC", "*/15 9-17 * * MON-FRI", time.UTC, 2026},
		{"workdays/NewYork", "*/15 9-17 * * MON-FRI", ny, 2026},
		{"workdays/NewYork-2040", "*/15 9-17 * * MON-FRI", ny, 2040},
		{"yearly/UTC", "@yearly", time.UTC, 2026},
		{"leap-day/UTC", "0 0 29 2 *", time.UTC, 2026},
		{"leap-sunday-40y/UTC", "0 12 29 2 */7", time.UTC, 2088}, // 2088-03-01 -> 2128-02-29
		{"never/UTC", "0 0 30 2 *", time.UTC, 2026},
		{"every-90s", "@every 90s", time.UTC, 2026},
	}
	for _, bc := range cases {
		s := mustParse(b, bc.spec)
		b.Run(bc.name, func(b *testing.B) {
			start := time.Date(bc.year, 3, 1, 0, 0, 0, 0, bc.loc)
			at := start
			for b.Loop() {
				at = s.Next(at)
				if at.IsZero() || at.Year() > bc.year+2 {
					at = start
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("*/15 9-17 1,15 JAN-MAR MON-FRI"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestNextExtremeTimes checks that Next neither panics nor goes backwards
// for instants near the ends of time.Time's range.
func TestNextExtremeTimes(t *testing.T) {
	afters := []time.Time{
		{},
		time.Unix(-1<<40, 0).UTC(),
		time.Unix(1<<40, 0).UTC(),
		time.Unix(math.MaxInt64/2, 0).UTC(),
		time.Unix(math.MinInt64/2, 0).UTC(),
		time.Unix(math.MaxInt64, 999999999),
	}
	for _, spec := range []string{"* * * * *", "0 0 29 2 *", "0 12 29 2 */7", "@every 2562047h", "@yearly"} {
		s := mustParse(t, spec)
		for _, after := range afters {
			if got := s.Next(after); !got.IsZero() && !got.After(after) {
				t.Errorf("%q.Next(%v) = %v, not after", spec, after, got)
			}
		}
	}
}

// TestConcurrentNext lets the race detector check that schedules are
// read-only after Parse.
func TestConcurrentNext(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	s := mustParse(t, "*/5 1-3 * * *")
	want := s.Next(time.Date(2026, 11, 1, 1, 57, 0, 0, ny))
	var wg sync.WaitGroup
	results := make([]time.Time, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := time.Date(2026, 11, 1, 1, 57, 0, 0, ny)
			for range 100 {
				results[i] = s.Next(at)
			}
		}()
	}
	wg.Wait()
	for i, got := range results {
		if !got.Equal(want) {
			t.Errorf("goroutine %d: Next = %v, want %v", i, got, want)
		}
	}
}
