package schedule

import (
	"math/bits"
	"time"
)

// horizonYears bounds the search in Next: one full Gregorian cycle, after
// which the calendar (dates and weekdays) repeats exactly.
const horizonYears = 400

// cron is a parsed five-field expression. Each field is a bit mask of the
// values it selects: minute bits 0-59, hour 0-23, dom 1-31, month 1-12,
// dow 0-6 (Sunday = 0).
type cron struct {
	text                          string
	minute, hour, dom, month, dow uint64
	// and is true when a day must match both day fields (one of them was
	// written starting with "*"); otherwise either suffices.
	and bool
	// dowDays[w] is the set of days of the month (bits 1-31) that fall on
	// a selected weekday in a month whose 1st is weekday w.
	dowDays [7]uint64
	// never is true when no date can ever match (e.g. 30 February).
	never bool
}

var _ Schedule = (*cron)(nil)

func newCron(text string, m [5]uint64, and bool) *cron {
	c := &cron{text: text, minute: m[0], hour: m[1], dom: m[2], month: m[3], dow: m[4], and: and}
	for first := range 7 {
		for day := 1; day <= 31; day++ {
			if c.dow&(1<<uint((first+day-1)%7)) != 0 {
				c.dowDays[first] |= 1 << uint(day)
			}
		}
	}
	// Every (month, day) pair that exists falls on every weekday somewhere
	// in the 400-year cycle (29 February included), so a month whose
	// longest form has a matching day for some weekday of its 1st will
	// match eventually.
	c.never = true
	for month := 1; month <= 12; month++ {
		if c.month&(1<<uint(month)) == 0 {
			continue
		}
		for first := range 7 {
			if c.days(first, maxDays[month]) != 0 {
				c.never = false
			}
		}
	}
	return c
}

// String returns the normalised expression (fields separated by single
// spaces) or the lower-case macro it was parsed from.
func (c *cron) String() string { return c.text }

// days returns the matching days (bits 1-dim) of a month of dim days whose
// 1st falls on weekday first.
func (c *cron) days(first, dim int) uint64 {
	var m uint64
	if c.and {
		m = c.dom & c.dowDays[first]
	} else {
		m = c.dom | c.dowDays[first]
	}
	return m & (1<<uint(dim+1) - 2)
}

// Next returns the first activation strictly after after, evaluated on the
// wall clock of after.Location(); see the package documentation for time
// zones, daylight saving time and the search horizon.
func (c *cron) Next(after time.Time) time.Time {
	if c.never {
		return time.Time{}
	}
	loc := after.Location()
	y, mo, d := after.Date()
	h, mi, _ := after.Clock()
	first := int(time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC).Weekday())
	// Walk the wall-clock calendar from after's minute. onStart reports
	// whether the candidate still shares after's (year, month[, day[,
	// hour]]) prefix, in which case lower fields start from after's values.
	onStart := true
	for year, month := y, int(mo); year <= y+horizonYears; {
		dim := daysIn(year, month)
		if c.month&(1<<uint(month)) != 0 {
			days := c.days(first, dim)
			startDay := 1
			if onStart {
				startDay = d
			}
			for day, ok := nextBit(days, startDay); ok; day, ok = nextBit(days, day+1) {
				onDay := onStart && day == d
				startHour := 0
				if onDay {
					startHour = h
				}
				for hour, ok := nextBit(c.hour, startHour); ok; hour, ok = nextBit(c.hour, hour+1) {
					startMin := 0
					if onDay && hour == h {
						startMin = mi + 1
					}
					for minute, ok := nextBit(c.minute, startMin); ok; minute, ok = nextBit(c.minute, minute+1) {
						if t, ok := wallInstant(year, month, day, hour, minute, loc); ok && t.After(after) {
							return t
						}
					}
				}
			}
		}
		onStart = false
		first = (first + dim) % 7
		if month++; month > 12 {
			month, year = 1, year+1
		}
	}
	return time.Time{}
}

// wallInstant returns the first instant at which the wall clock in loc reads
// the given minute, or false if the clocks skip that minute.
func wallInstant(year, month, day, hour, minute int, loc *time.Location) (time.Time, bool) {
	t := time.Date(year, time.Month(month), day, hour, minute, 0, 0, loc)
	if !sameWall(t, year, month, day, hour, minute) {
		return time.Time{}, false // time.Date normalised a time inside a gap
	}
	// time.Date may pick either instant of a repeated wall-clock time. If
	// t lies just after a backward transition, the same wall clock also
	// occurred before it, shifted by the difference of the two offsets.
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t, true
	}
	_, off := t.Zone()
	_, prevOff := start.Add(-time.Nanosecond).Zone()
	if prevOff <= off {
		return t, true
	}
	earlier := t.Add(-time.Duration(prevOff-off) * time.Second)
	if earlier.Before(start) && sameWall(earlier, year, month, day, hour, minute) {
		return earlier, true
	}
	return t, true
}

func sameWall(t time.Time, year, month, day, hour, minute int) bool {
	y, mo, d := t.Date()
	h, mi, _ := t.Clock()
	return y == year && int(mo) == month && d == day && h == hour && mi == minute
}

// nextBit returns the lowest set bit of mask at or above from.
func nextBit(mask uint64, from int) (int, bool) {
	if from >= 64 {
		return 0, false
	}
	m := mask >> uint(from) << uint(from)
	if m == 0 {
		return 0, false
	}
	return bits.TrailingZeros64(m), true
}

// maxDays is the longest length of each month (index 1-12).
var maxDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func daysIn(year, month int) int {
	if month == 2 && !isLeap(year) {
		return 28
	}
	return maxDays[month]
}

func isLeap(year int) bool {
	return year%4 == 0 && (year%100 != 0 || year%400 == 0)
}
