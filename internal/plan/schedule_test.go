package plan

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func next(t *testing.T, s *Schedule) string {
	t.Helper()
	tk, ok := s.Next()
	if !ok {
		t.Fatal("nothing ready")
	}
	return tk.ID
}

// TestCriticalPathFirst: of the ready tasks, the one heading the longest
// remaining path starts first; ties go in plan order.
func TestCriticalPathFirst(t *testing.T) {
	// short ← s2; long ← l2 ← l3 ← l4; tie1, tie2 alone.
	p := tasks("short", "tie1", "s2:short", "long", "l2:long", "l3:l2", "l4:l3", "tie2")
	s, err := NewSchedule(p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 4 {
		got = append(got, next(t, s))
	}
	if want := []string{"long", "short", "tie1", "tie2"}; !slices.Equal(got, want) {
		t.Fatalf("start order %v, want %v", got, want)
	}
	if _, ok := s.Next(); ok {
		t.Fatal("a task became ready before its dependency finished")
	}
	if _, err := s.Done("l2"); !errors.Is(err, ErrState) {
		t.Fatalf("done of a waiting task: %v", err)
	}
	ready, err := s.Done("long")
	if err != nil || !slices.Equal(ready, []string{"l2"}) {
		t.Fatalf("ready %v %v", ready, err)
	}
	if s.Count(Running) != 3 || s.Count(Done) != 1 || s.Count(Ready) != 1 {
		t.Fatalf("counts running %d done %d ready %d", s.Count(Running), s.Count(Done), s.Count(Ready))
	}
}

func TestReplaceAndAbandon(t *testing.T) {
	// a → b → d, a → c; e alone. b fails.
	newSched := func(t *testing.T) *Schedule {
		s, err := NewSchedule(tasks("a", "b:a", "c:a", "d:b,c", "e"))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"a", "e"} {
			if got := next(t, s); got != id {
				t.Fatalf("started %s, want %s", got, id)
			}
		}
		if _, err := s.Done("a"); err != nil {
			t.Fatal(err)
		}
		next(t, s) // b (rank 2) before c (rank 2, later)
		deps, err := s.Fail("b")
		if err != nil || len(deps) != 1 || deps[0].ID != "d" {
			t.Fatalf("dependants %v %v", deps, err)
		}
		return s
	}
	t.Run("replace", func(t *testing.T) {
		s := newSched(t)
		bad := []struct {
			tasks []Task
			err   string
		}{
			{tasks("b2:b").Tasks, `task "b2" depends on "b", which is not a task`},
			{tasks("x:y", "y:x").Tasks, "dependency cycle x → y → x"},
			{tasks("e").Tasks, `task id "e" is used twice`},
			{nil, "at least one task"},
		}
		for _, c := range bad {
			if err := s.CheckReplacement("b", c.tasks, nil); err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("replacement %v: %v, want %q", c.tasks, err, c.err)
			}
		}
		if _, err := s.Replace("c", tasks("z").Tasks); !errors.Is(err, ErrState) {
			t.Fatalf("replacing a task that did not fail: %v", err)
		}
		// b2 redoes b from a; d (the id reused) needs b2 and c.
		removed, err := s.Replace("b", tasks("b2:a", "d:b2,c").Tasks)
		if err != nil || !slices.Equal(removed, []string{"b", "d"}) {
			t.Fatalf("removed %v %v", removed, err)
		}
		// c and b2 both head a path of 2: c was planned first.
		if got := []string{next(t, s), next(t, s)}; !slices.Equal(got, []string{"c", "b2"}) {
			t.Fatalf("next %v, want c, b2 (b2 ready at once: a is done)", got)
		}
		for _, id := range []string{"b2", "c", "e"} {
			if _, err := s.Done(id); err != nil {
				t.Fatal(err)
			}
		}
		if got := next(t, s); got != "d" {
			t.Fatalf("next %s", got)
		}
		if _, err := s.Done("d"); err != nil || !s.Idle() || s.Count(Done) != 5 || s.Len() != 5 {
			t.Fatalf("end: %v idle %v done %d len %d", err, s.Idle(), s.Count(Done), s.Len())
		}
	})
	t.Run("abandon", func(t *testing.T) {
		s := newSched(t)
		skipped, err := s.Abandon("b")
		if err != nil || !slices.Equal(skipped, []string{"d"}) {
			t.Fatalf("skipped %v %v", skipped, err)
		}
		next(t, s)
		for _, id := range []string{"c", "e"} {
			if _, err := s.Done(id); err != nil {
				t.Fatal(err)
			}
		}
		if !s.Idle() || s.Count(Skipped) != 1 || s.Count(Failed) != 1 {
			t.Fatalf("idle %v skipped %d failed %d", s.Idle(), s.Count(Skipped), s.Count(Failed))
		}
	})
}
