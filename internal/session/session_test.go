package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakeClock returns a clock that advances one second per call.
func fakeClock() func() time.Time {
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func mustAppend(t *testing.T, s *Session, steps ...Step) {
	t.Helper()
	for _, st := range steps {
		if _, err := s.Append(context.Background(), st); err != nil {
			t.Fatalf("Append(%s): %v", st.Type, err)
		}
	}
}

var (
	callA = ToolCall{ID: "a", Name: "read_file", Arguments: json.RawMessage(`{"path":"README.md"}`)}
	callB = ToolCall{ID: "b", Name: "list_dir", Arguments: json.RawMessage(`{"path":"."}`)}
	callC = ToolCall{ID: "c", Name: "web_fetch", Arguments: json.RawMessage(`{"url":"https://example.com"}`)}
)

// script is a run interrupted after tool call b started.
func script() []Step {
	return []Step{
		UserMessage("Summarise README.md"),
		ModelRequest("fake/model", 1),
		ModelResponse("fake/model", Message{Content: "Let me look.", ToolCalls: []ToolCall{callA, callB, callC}}, Usage{InputTokens: 10, OutputTokens: 5}),
		ToolCallStarted(callA),
		ToolCallCompleted(ToolResult{ID: "a", Name: "read_file", Content: "# WeftOS"}),
		ToolCallStarted(callB),
	}
}

func TestJournalGolden(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home, "golden", WithClock(fakeClock()))
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, script()...)
	mustAppend(t, s,
		ToolCallCompleted(ToolResult{ID: "b", Name: "list_dir", Content: "permission denied", IsError: true}),
		Error("tool_failed", "list_dir failed"),
	)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(home, Dir, "golden", JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "journal.golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("journal mismatch\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestAppendReopen(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home, "work", WithClock(fakeClock()))
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Resume(); st.Status != StatusEmpty || len(st.Messages) != 0 {
		t.Fatalf("new session state %+v", st)
	}
	mustAppend(t, s, script()...)
	before, state := stepsOf(t, s), s.Resume()
	created := s.Meta().Created
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Append(context.Background(), UserMessage("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}

	s, err = Open(home, "work", WithClock(fakeClock()))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !reflect.DeepEqual(stepsOf(t, s), before) {
		t.Errorf("steps differ after reopen\ngot  %+v\nwant %+v", stepsOf(t, s), before)
	}
	if !reflect.DeepEqual(s.Resume(), state) {
		t.Errorf("state differs after reopen\ngot  %+v\nwant %+v", s.Resume(), state)
	}
	if !s.Meta().Created.Equal(created) || s.Recovered().TornBytes != 0 {
		t.Errorf("meta %+v recovered %+v", s.Meta(), s.Recovered())
	}
	for i, st := range before {
		if st.Seq != uint64(i+1) || st.Time.IsZero() {
			t.Errorf("step %d: seq %d time %v", i, st.Seq, st.Time)
		}
	}
}

func TestResumeSemantics(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home, "r")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mustAppend(t, s, script()...)
	st := s.Resume()

	wantMsgs := []Message{
		{Role: RoleUser, Content: "Summarise README.md"},
		{Role: RoleAssistant, Content: "Let me look.", ToolCalls: []ToolCall{callA, callB, callC}},
		{Role: RoleTool, Content: "# WeftOS", ToolCallID: "a"},
	}
	if !reflect.DeepEqual(st.Messages, wantMsgs) {
		t.Errorf("messages\ngot  %+v\nwant %+v", st.Messages, wantMsgs)
	}
	if len(st.Completed) != 1 || st.Completed["a"].Content != "# WeftOS" {
		t.Errorf("completed %+v, want a only", st.Completed)
	}
	if !reflect.DeepEqual(st.Pending, []ToolCall{callB}) {
		t.Errorf("pending %+v, want b", st.Pending)
	}
	if !reflect.DeepEqual(st.NotStarted, []ToolCall{callC}) {
		t.Errorf("not started %+v, want c", st.NotStarted)
	}
	if st.Status != StatusInProgress || st.LastType != TypeToolCallStarted || st.LastSeq != 6 {
		t.Errorf("status %s last %s seq %d", st.Status, st.LastType, st.LastSeq)
	}
	if st.Usage != (Usage{InputTokens: 10, OutputTokens: 5}) {
		t.Errorf("usage %+v", st.Usage)
	}

	// A resumed run can never run a completed call again.
	ctx := context.Background()
	if _, err := s.Append(ctx, ToolCallStarted(callA)); !errors.Is(err, ErrInvalidStep) {
		t.Errorf("restarting completed call a: %v", err)
	}
	if _, err := s.Append(ctx, ToolCallCompleted(ToolResult{ID: "a", Name: "read_file"})); !errors.Is(err, ErrInvalidStep) {
		t.Errorf("completing call a twice: %v", err)
	}
	// Finishing the run.
	mustAppend(t, s,
		ToolCallCompleted(ToolResult{ID: "b", Name: "list_dir", Content: "README.md"}),
		ToolCallStarted(callC),
		ToolCallCompleted(ToolResult{ID: "c", Name: "web_fetch", Content: "<html>"}),
		ModelResponse("fake/model", Message{Content: "It is an OS."}, Usage{InputTokens: 20, OutputTokens: 4}),
		FinalAnswer("It is an OS."),
	)
	st = s.Resume()
	if st.Status != StatusCompleted || st.Final != "It is an OS." || len(st.Pending) != 0 || len(st.NotStarted) != 0 || len(st.Completed) != 3 {
		t.Errorf("after finishing: %+v", st)
	}
	if n := len(st.Messages); n != 6 || st.Messages[n-1].Content != "It is an OS." {
		t.Errorf("final answer duplicated or missing: %+v", st.Messages)
	}
	if st.Usage != (Usage{InputTokens: 30, OutputTokens: 9}) {
		t.Errorf("usage %+v", st.Usage)
	}
	// A final answer with no model response before it adds the message.
	mustAppend(t, s, UserMessage("again"), FinalAnswer("cached"), Error("budget", "token budget exhausted"))
	st = s.Resume()
	if st.Status != StatusFailed || st.Err == nil || st.Err.Code != "budget" || st.Messages[len(st.Messages)-1].Content != "cached" {
		t.Errorf("after error: %+v", st)
	}
}

func TestAppendValidation(t *testing.T) {
	tests := []struct {
		name string
		step Step
	}{
		{"unknown type", Step{Type: "thought", Data: json.RawMessage(`{}`)}},
		{"data not JSON", Step{Type: TypeUserMessage, Data: json.RawMessage(`{`)}},
		{"data not object", Step{Type: TypeUserMessage, Data: json.RawMessage(`"hi"`)}},
		{"data missing", Step{Type: TypeUserMessage}},
		{"unknown field", Step{Type: TypeUserMessage, Data: json.RawMessage(`{"content":"x","extra":1}`)}},
		{"wrong field type", Step{Type: TypeUserMessage, Data: json.RawMessage(`{"content":1}`)}},
		{"response role", Step{Type: TypeModelResponse, Data: json.RawMessage(`{"message":{"role":"user"}}`)}},
		{"response dup ids", ModelResponse("m", Message{ToolCalls: []ToolCall{callA, callA}}, Usage{})},
		{"response empty id", ModelResponse("m", Message{ToolCalls: []ToolCall{{Name: "x"}}}, Usage{})},
		{"start without id", ToolCallStarted(ToolCall{Name: "x"})},
		{"complete unstarted", ToolCallCompleted(ToolResult{ID: "zzz", Name: "x"})},
		{"bad arguments", ToolCallStarted(ToolCall{ID: "x", Name: "x", Arguments: json.RawMessage(`{`)})},
	}
	home := t.TempDir()
	s, err := Open(home, "v")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Append(context.Background(), tt.step); !errors.Is(err, ErrInvalidStep) {
				t.Fatalf("error %v, want ErrInvalidStep", err)
			}
		})
	}
	if n := len(stepsOf(t, s)); n != 0 {
		t.Fatalf("%d refused steps were stored", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, UserMessage("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Append: %v", err)
	}
	// Whitespace in raw data is compacted, Seq and Time are assigned.
	st, err := s.Append(context.Background(), Step{Seq: 99, Type: TypeUserMessage, Data: json.RawMessage(" {\"content\" : \"hi\"}\n")})
	if err != nil || st.Seq != 1 || string(st.Data) != `{"content":"hi"}` {
		t.Errorf("Append = %+v, %v", st, err)
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"work": true, "a": true, "my.session_2-x": true, strings.Repeat("s", 64): true,
		"": false, ".": false, "..": false, "../x": false, "a/b": false, `a\b`: false,
		".hidden": false, "a..b": false, strings.Repeat("s", 65): false, "a b": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
		if !want {
			if _, err := Open(t.TempDir(), name); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Open(%q): %v, want ErrInvalidName", name, err)
			}
		}
	}
}

func TestLock(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home, "busy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(home, "busy"); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open: %v, want ErrLocked", err)
	}
	if err := Remove(home, "busy"); !errors.Is(err, ErrLocked) {
		t.Errorf("Remove while open: %v, want ErrLocked", err)
	}
	if _, err := Read(home, "busy"); err != nil {
		t.Errorf("Read while open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(home, "busy")
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s.Close()
}

func TestAppendBuffered(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home, "b")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Append(ctx, UserMessage("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendBuffered(ctx, ModelResponse("m", Message{Content: "hello"}, Usage{})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, FinalAnswer("hello")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	snap, err := Read(home, "b")
	if err != nil || len(snap.Steps) != 3 || snap.State.Status != StatusCompleted {
		t.Fatalf("after buffered append: %d steps, %s, %v", len(snap.Steps), snap.State.Status, err)
	}
}

// TestAppendStateMatchesReopen: the state Append builds (from a
// constructor's payload when it is exact, else by decoding) is the state a
// reopen builds from the journal, whatever the steps hold.
func TestAppendStateMatchesReopen(t *testing.T) {
	replaced := UserMessage("original")
	replaced.Data = json.RawMessage(`{"content":"replaced"}`)
	tests := []struct {
		name  string
		steps []Step
	}{
		{"plain", []Step{UserMessage("hi"), ModelResponse("m", Message{Content: "ok"}, Usage{1, 2}), FinalAnswer("ok")}},
		{"html and escapes", []Step{UserMessage("<a href=\"x\">&\n\t\u2028</a>"), FinalAnswer("</skill>\\")}},
		{"invalid utf-8", []Step{UserMessage("bad \xff byte"), ModelResponse("m\xfe", Message{Content: "\xc3"}, Usage{}), Error("c\xff", "m\xff")}},
		{"tool calls", []Step{UserMessage("go"),
			ModelResponse("m", Message{Content: "<x>", ToolCalls: []ToolCall{{ID: "a", Name: "read_file", Arguments: json.RawMessage(`{ "path" : "<README>" }`)}}}, Usage{}),
			ToolCallStarted(ToolCall{ID: "a", Name: "read_file", Arguments: json.RawMessage(`{ "path" : "<README>" }`)}),
			ToolCallCompleted(ToolResult{ID: "a", Name: "read_file", Content: "bad \xff", IsError: true}), FinalAnswer("done")}},
		{"empty tool calls", []Step{UserMessage("q"), ModelResponse("", Message{Content: "a", ToolCalls: []ToolCall{}}, Usage{})}},
		{"data replaced after construction", []Step{replaced}},
		{"reset", []Step{UserMessage("q"), FinalAnswer("a"), Reset("operator"), UserMessage("again")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			s, err := Open(home, "s", WithClock(fakeClock()))
			if err != nil {
				t.Fatal(err)
			}
			mustAppend(t, s, tc.steps...)
			live, liveSteps := s.Resume(), stepsOf(t, s)
			s.Close()
			s, err = Open(home, "s")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.Resume(); !reflect.DeepEqual(got, live) {
				t.Fatalf("state after reopen\n%+v\nlive\n%+v", got, live)
			}
			if got := stepsOf(t, s); !reflect.DeepEqual(got, liveSteps) {
				t.Fatalf("steps after reopen\n%+v\nlive\n%+v", got, liveSteps)
			}
		})
	}
}

// TestReset: a reset step clears the conversation (even in the middle of
// an interrupted run) while every earlier step stays in the journal, and
// survives a reopen.
func TestReset(t *testing.T) {
	home := t.TempDir()
	s, err := Open(home, "r")
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, script()...) // interrupted: b pending, c not started
	mustAppend(t, s, Reset("operator"))
	check := func(s *Session) {
		t.Helper()
		st := s.Resume()
		if st.Status != StatusEmpty || len(st.Messages) != 0 || len(st.Pending) != 0 || len(st.NotStarted) != 0 || len(st.Completed) != 0 {
			t.Fatalf("after reset: %+v", st)
		}
		if st.Usage != (Usage{InputTokens: 10, OutputTokens: 5}) || st.LastType != TypeReset {
			t.Fatalf("usage or last step lost: %+v", st)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(home, "r")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check(s)
	snap, err := Read(home, "r")
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Steps) != len(script())+1 {
		t.Fatalf("the journal kept %d steps, want %d", len(snap.Steps), len(script())+1)
	}
	// The conversation starts afresh: a tool call id used before the
	// reset may be used again.
	mustAppend(t, s, UserMessage("hello again"),
		ModelResponse("m", Message{Content: "", ToolCalls: []ToolCall{callA}}, Usage{}),
		ToolCallStarted(callA), ToolCallCompleted(ToolResult{ID: "a", Name: callA.Name, Content: "x"}),
		ModelResponse("m", Message{Content: "done"}, Usage{}), FinalAnswer("done"))
	if st := s.Resume(); st.Status != StatusCompleted || len(st.Messages) != 4 || st.Messages[0].Content != "hello again" {
		t.Fatalf("after a new run: %+v", st)
	}
}

// TestConversation: a caller keeping a copy of the conversation and asking
// only for what is new always holds what Resume returns, across appends,
// a reset (a new epoch: the copy is replaced) and a copy that claims more
// than there is.
func TestConversation(t *testing.T) {
	s, err := Open(t.TempDir(), "conv")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var (
		conv  []Message
		epoch uint64
	)
	sync := func(wantFrom int, wantStatus Status) {
		t.Helper()
		tail, from, now, status := s.Conversation(epoch, len(conv))
		if from != wantFrom || status != wantStatus {
			t.Fatalf("from %d status %s, want %d %s", from, status, wantFrom, wantStatus)
		}
		conv, epoch = append(conv[:from], tail...), now
		if want := s.Resume().Messages; !reflect.DeepEqual(conv, want) && (len(conv) != 0 || len(want) != 0) {
			t.Fatalf("kept copy\n%+v\nResume\n%+v", conv, want)
		}
	}
	sync(0, StatusEmpty)
	mustAppend(t, s, script()...)
	sync(0, StatusInProgress)
	mustAppend(t, s, ToolCallCompleted(ToolResult{ID: "b", Name: "list_dir", Content: "ok"}),
		ToolCallStarted(callC), ToolCallCompleted(ToolResult{ID: "c", Name: "web_fetch", Content: "page"}),
		ModelResponse("m", Message{Content: "Done."}, Usage{}), FinalAnswer("Done."))
	sync(3, StatusCompleted) // user, assistant, result a: kept
	sync(len(conv), StatusCompleted)
	// A reset, then more messages than the copy holds: a new epoch, so
	// the copy is replaced whole.
	mustAppend(t, s, Reset("operator"))
	for _, q := range []string{"one", "two", "three"} {
		mustAppend(t, s, UserMessage(q), ModelResponse("m", Message{Content: q + "!"}, Usage{}), FinalAnswer(q+"!"))
	}
	mustAppend(t, s, UserMessage("again"))
	sync(0, StatusInProgress)
	conv = append(conv, Message{Role: RoleUser, Content: "phantom"}, Message{Role: RoleUser, Content: "phantom"})
	sync(0, StatusInProgress) // holds more than there is: replaced whole
}
