//go:build !windows

package main

import (
	"encoding/json"
	"io"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/weftos/weftos/internal/llm/llmtest"
)

// TestREPLStaysUp: the REPL shows /help; a bad /model is an error for that
// message, not the end of the REPL; Ctrl-C cancels the answer in progress
// and the next message gets a fresh answer; /reset clears the conversation
// but keeps the session and its journal.
func TestREPLStaysUp(t *testing.T) {
	slow := make(chan struct{}) // closed to release a held model call
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(slow) }) }
	defer release()
	holding := make(chan struct{}, 1)
	srv := llmtest.NewOpenAI(llmtest.Options{
		OnRequest: func(r llmtest.Request) {
			if strings.Contains(string(r.Body), "take your time") {
				holding <- struct{}{}
				<-slow
			}
		},
		Handler: func(r llmtest.Request) llmtest.Turn { return llmtest.Text("answer number " + lastUser(r)) },
	})
	defer srv.Close()
	c := newWeft(t, srv)
	cmd := c.cmd("agent", "--session", "chat")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, errb := &syncWriter{b: &strings.Builder{}}, &syncWriter{b: &strings.Builder{}}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	send := func(line string) {
		t.Helper()
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Fatalf("writing %q: %v\nstderr:\n%s", line, err, errb.String())
		}
	}
	alive := func(what string) {
		t.Helper()
		select {
		case err := <-exited:
			t.Fatalf("the REPL ended after %s: %v\nstdout:\n%s\nstderr:\n%s", what, err, out.String(), errb.String())
		default:
		}
	}
	has := func(w *syncWriter, s string) func() bool {
		return func() bool { return strings.Contains(w.String(), s) }
	}

	send("/help")
	waitFor(t, has(errb, "cancel the answer in progress"), "/help")

	send("/model nosuch/x")
	waitFor(t, has(errb, `unknown provider "nosuch"`), "the bad model's error")
	send("/model")
	waitFor(t, has(errb, `model: "" (empty: the configured default)`), "the model kept")
	send("/session ../elsewhere")
	waitFor(t, has(errb, `invalid session name: "../elsewhere" (1-64`), "the bad session's error")
	send("first")
	waitFor(t, has(out, "answer number first"), "an answer with the model kept")
	alive("a message after an unknown provider")

	send("/model openai/m")
	send("second")
	waitFor(t, has(out, "answer number second"), "an answer after fixing the model")

	send("take your time")
	select {
	case <-holding:
	case err := <-exited:
		t.Fatalf("the REPL ended: %v\n%s", err, errb.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	waitFor(t, has(errb, "answer cancelled"), "Ctrl-C to cancel the answer")
	release()
	alive("Ctrl-C")

	send("third")
	waitFor(t, has(out, "answer number third"), "an answer after a cancelled one")

	send("/reset")
	waitFor(t, has(errb, "conversation cleared"), "/reset")
	send("fourth")
	waitFor(t, has(out, "answer number fourth"), "an answer after /reset")
	send("/exit")
	if err := <-exited; err != nil {
		t.Fatalf("exit: %v\n%s", err, errb.String())
	}

	// The model saw a fresh conversation after /reset: one user message.
	reqs := srv.ChatRequests()
	last := reqs[len(reqs)-1].Map()
	if msgs, _ := last["messages"].([]any); countRole(msgs, "user") != 1 {
		t.Fatalf("after /reset the model got %d user messages", countRole(msgs, "user"))
	}
	// The session is still there, with every step (the reset is one).
	stdout, stderr, code := c.run("sessions", "show", "chat", "--json")
	if code != 0 {
		t.Fatalf("sessions show: %d %s", code, stderr)
	}
	var snap struct {
		Steps []struct {
			Type string `json:"type"`
		} `json:"steps"`
		State struct {
			Status string `json:"status"`
		} `json:"state"`
	}
	if err := json.Unmarshal([]byte(stdout), &snap); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, s := range snap.Steps {
		types = append(types, s.Type)
	}
	joined := strings.Join(types, " ")
	if !strings.Contains(joined, "reset") || !strings.Contains(joined, "error") || snap.State.Status != "completed" {
		t.Fatalf("session steps %v, status %s", types, snap.State.Status)
	}
}
