package plan_test

import (
	"errors"
	"fmt"

	"github.com/weftos/weftos/internal/plan"
)

// A model's plan is parsed strictly and validated: a cycle is named.
func ExamplePlan_Validate() {
	p, err := plan.Parse(`Here is my plan: {"tasks": [
		{"id": "fetch", "prompt": "Read the changelog", "deps": ["check"]},
		{"id": "write", "prompt": "Write the release note", "deps": ["fetch"]},
		{"id": "check", "prompt": "Check the note", "deps": ["write"]}]}`)
	if err != nil {
		panic(err)
	}
	err = p.Validate(nil)
	fmt.Println(errors.Is(err, plan.ErrCycle))
	fmt.Println(err)
	// Output:
	// true
	// plan: dependency cycle fetch → check → write → fetch (each task depends on the next)
}

// The schedule hands out ready tasks, longest remaining path first.
func ExampleSchedule() {
	s, err := plan.NewSchedule(plan.Plan{Tasks: []plan.Task{
		{ID: "lint", Prompt: "lint"},
		{ID: "build", Prompt: "build"},
		{ID: "test", Prompt: "test", Deps: []string{"build"}},
		{ID: "ship", Prompt: "ship", Deps: []string{"test", "lint"}},
	}})
	if err != nil {
		panic(err)
	}
	for !s.Idle() {
		t, _ := s.Next()
		fmt.Println("run", t.ID)
		if _, err := s.Done(t.ID); err != nil {
			panic(err)
		}
	}
	// Output:
	// run build
	// run lint
	// run test
	// run ship
}
