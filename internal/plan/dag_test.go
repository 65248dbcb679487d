package plan

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// known is a Known over fixed agents and their tools.
type known map[string][]string

func (k known) Agent(name string) error {
	if name == "" {
		name = "default"
	}
	if _, ok := k[name]; !ok {
		return fmt.Errorf("%w: agent %q", ErrUnknown, name)
	}
	return nil
}

func (k known) Tool(agent, tool string) error {
	if agent == "" {
		agent = "default"
	}
	if !slices.Contains(k[agent], tool) {
		return fmt.Errorf("%w: tool %q is not offered to agent %q", ErrUnknown, tool, agent)
	}
	return nil
}

var agents = known{"default": {"read_file", "write_file"}, "critic": {"read_file"}}

func TestParse(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string // task ids
		err        string
	}{
		{"bare", `{"tasks":[{"id":"a","prompt":"do a"}]}`, []string{"a"}, ""},
		{"fenced with prose", "Here is the plan:\n```json\n{\"tasks\":[{\"id\":\"a\",\"prompt\":\"x\"},{\"id\":\"b\",\"prompt\":\"y\",\"deps\":[\"a\"]}]}\n```\nDone.", []string{"a", "b"}, ""},
		{"no json", "I cannot plan this.", nil, "holds no JSON object"},
		{"misspelt field", `{"tasks":[{"id":"a","prompt":"x","depends_on":["b"]}]}`, nil, `unknown field "depends_on"`},
		{"truncated", `{"tasks":[{"id":"a"`, nil, "unexpected EOF"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Parse(c.text)
			if c.err != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want ErrInvalid containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, tk := range p.Tasks {
				ids = append(ids, tk.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Fatalf("ids %v, want %v", ids, c.want)
			}
		})
	}
}

func tasks(spec ...string) Plan {
	// "b:a,c" is task b depending on a and c.
	var p Plan
	for _, s := range spec {
		id, deps, _ := strings.Cut(s, ":")
		t := Task{ID: id, Prompt: "do " + id}
		if deps != "" {
			t.Deps = strings.Split(deps, ",")
		}
		p.Tasks = append(p.Tasks, t)
	}
	return p
}

func TestValidate(t *testing.T) {
	withTool := tasks("a", "b:a")
	withTool.Tasks[1].Tools = []string{"shell_exec"}
	withAgent := tasks("a")
	withAgent.Tasks[0].Agent = "ghost"
	critic := tasks("a", "b:a")
	critic.Tasks[1].Agent, critic.Tasks[1].Tools = "critic", []string{"read_file"}
	cases := []struct {
		name string
		p    Plan
		is   error
		msg  string // the whole message when set
		has  []string
	}{
		{"ok", tasks("a", "b:a", "c:a", "d:b,c"), nil, "", nil},
		{"ok with a known agent and tool", critic, nil, "", nil},
		{"empty", Plan{}, ErrInvalid, "plan: invalid plan: the plan has no tasks", nil},
		{"cycle named", tasks("a:c", "b:a", "c:b", "d"), ErrCycle, "plan: dependency cycle a → c → b → a (each task depends on the next)", nil},
		{"cycle off the first task", tasks("root", "x:root,z", "y:x", "z:y"), ErrCycle, "plan: dependency cycle x → z → y → x (each task depends on the next)", nil},
		{"self dependency", tasks("a:a"), ErrCycle, "plan: dependency cycle a → a (each task depends on the next)", nil},
		{"unknown dependency and duplicate id, both reported", tasks("a", "a", "b:nope"), ErrInvalid, "",
			[]string{`task id "a" is used twice`, `task "b" depends on "nope", which is not a task`}},
		{"bad id", Plan{Tasks: []Task{{ID: "a b", Prompt: "x"}}}, ErrInvalid, "", []string{`id "a b"`}},
		{"empty prompt", Plan{Tasks: []Task{{ID: "a", Prompt: "  "}}}, ErrInvalid, "", []string{`task "a" has an empty prompt`}},
		{"unknown tool", withTool, ErrUnknown, `task "b": plan: unknown agent or tool: tool "shell_exec" is not offered to agent "default"`, nil},
		{"unknown agent", withAgent, ErrUnknown, `task "a": plan: unknown agent or tool: agent "ghost"`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.p.Validate(agents)
			if c.is == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, c.is) {
				t.Fatalf("err %v, want %v", err, c.is)
			}
			if c.msg != "" && err.Error() != c.msg {
				t.Fatalf("message\n%s\nwant\n%s", err, c.msg)
			}
			for _, h := range c.has {
				if !strings.Contains(err.Error(), h) {
					t.Fatalf("message %q lacks %q", err, h)
				}
			}
		})
	}
	var ce *CycleError
	if err := tasks("a:b", "b:a").Validate(nil); !errors.As(err, &ce) || !slices.Equal(ce.Path, []string{"a", "b"}) {
		t.Fatalf("cycle %v", err)
	}
}

func TestCriticalPath(t *testing.T) {
	p := tasks("a", "b:a", "c:a", "d:b,c", "e")
	p.Tasks[1].Cost, p.Tasks[2].Cost = 5, 2 // a(1) → b(5) → d(1) is the longest
	l, path := p.CriticalPath()
	if l != 7 || !slices.Equal(path, []string{"a", "b", "d"}) {
		t.Fatalf("critical path %v %v", l, path)
	}
	if tc := p.TotalCost(); tc != 10 {
		t.Fatalf("total %v", tc)
	}
}

// FuzzParse: whatever a model answers, parsing and validation return
// (never panic), and a plan they accept schedules to completion with
// every task started after its dependencies.
func FuzzParse(f *testing.F) {
	f.Add(`{"tasks":[{"id":"a","prompt":"x"},{"id":"b","prompt":"y","deps":["a"]}]}`)
	f.Add("```json\n{\"tasks\":[{\"id\":\"a\",\"prompt\":\"x\",\"deps\":[\"a\"]}]}```")
	f.Add(`{"tasks":[{"id":"a","prompt":"x","deps":["b"]},{"id":"b","prompt":"y","deps":["a"]}]}`)
	f.Add(`{"tasks":[{"id":"a","prompt":"x","cost":-1}]}`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse(text)
		if err != nil {
			return
		}
		if p.Validate(nil) != nil {
			return
		}
		s, err := NewSchedule(p)
		if err != nil {
			t.Fatalf("a valid plan did not schedule: %v", err)
		}
		done := map[string]bool{}
		for !s.Idle() {
			tk, ok := s.Next()
			if !ok {
				t.Fatal("not idle but nothing ready")
			}
			for _, d := range tk.Deps {
				if !done[d] {
					t.Fatalf("%s started before its dependency %s", tk.ID, d)
				}
			}
			if _, err := s.Done(tk.ID); err != nil {
				t.Fatal(err)
			}
			done[tk.ID] = true
		}
		if len(done) != len(p.Tasks) {
			t.Fatalf("%d of %d tasks ran", len(done), len(p.Tasks))
		}
	})
}
