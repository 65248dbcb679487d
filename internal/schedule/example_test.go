package schedule_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/weftos/weftos/internal/schedule"
)

func ExampleParse() {
	s, err := schedule.Parse("*/15 9-17 * * MON-FRI")
	if err != nil {
		fmt.Println(err)
		return
	}
	t := time.Date(2026, 1, 2, 17, 50, 0, 0, time.UTC) // a Friday evening
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.Format("Mon 2006-01-02 15:04"))
	}
	// Output:
	// Mon 2026-01-05 09:00
	// Mon 2026-01-05 09:15
	// Mon 2026-01-05 09:30
}

func ExampleParse_dayOfMonthOrDayOfWeek() {
	// Both day fields restricted: the 1st of the month OR any Sunday.
	s, _ := schedule.Parse("0 8 1 * SUN")
	t := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	for range 3 {
		t = s.Next(t)
		fmt.Println(t.Format("Mon Jan 2"))
	}
	// Output:
	// Sun Feb 22
	// Sun Mar 1
	// Sun Mar 8
}

func ExampleParse_timeZone() {
	// The schedule runs on the wall clock of the time passed to Next.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := schedule.Parse("30 2 * * *")
	// 02:30 does not exist on 8 March 2026 in New York (spring forward).
	t := time.Date(2026, 3, 7, 12, 0, 0, 0, ny)
	for range 2 {
		t = s.Next(t)
		fmt.Println(t.Format(time.RFC3339))
	}
	// Output:
	// 2026-03-09T02:30:00-04:00
	// 2026-03-10T02:30:00-04:00
}

func ExampleParse_never() {
	s, _ := schedule.Parse("0 0 30 2 *") // 30 February
	fmt.Println(s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero())
	// Output: true
}

func ExampleParse_every() {
	s, _ := schedule.Parse("@every 90s")
	fmt.Println(s)
	fmt.Println(s.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).Format(time.TimeOnly))
	// Output:
	// @every 1m30s
	// 00:01:30
}

func ExampleInterval() {
	s := schedule.Interval(10 * time.Minute)
	fmt.Println(s.Next(time.Date(2026, 1, 1, 23, 55, 0, 0, time.UTC)).Format(time.DateTime))
	// Output: 2026-01-02 00:05:00
}

func ExampleParseError() {
	_, err := schedule.Parse("61 * * * *")
	fmt.Println(err)
	var pe *schedule.ParseError
	if errors.As(err, &pe) {
		fmt.Printf("field=%s token=%s invalid=%t\n", pe.Field, pe.Token, errors.Is(err, schedule.ErrInvalid))
	}
	// Output:
	// schedule: minute field "61": value 61 out of range 0-59
	// field=minute token=61 invalid=true
}
