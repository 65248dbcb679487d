package daemon

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// TestRunOfAKilledAgent: the session agent killed while its model call
// is in flight ends the run at once with code "stopped", a message that
// names the process and says how to resume — not "context canceled" —
// and the session's next message finds the run resumable.
func TestRunOfAKilledAgent(t *testing.T) {
	release := make(chan struct{})
	asked := make(chan struct{}, 1)
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn {
		asked <- struct{}{}
		<-release
		return llmtest.Text("too late")
	}})
	defer srv.Close()
	defer close(release) // before srv.Close: the handler returns
	d, c, _ := opsDaemon(t, srv)
	ws := t.TempDir()
	ctx := context.Background()
	type result struct {
		events []apitype.RunEvent
		err    error
	}
	done := make(chan result, 1)
	pids := make(chan kernel.PID, 1)
	go func() {
		var r result
		r.err = c.AgentRun(ctx, apitype.RunRequest{Session: "victim", Workspace: ws, Message: "hi", Model: "openai/m"}, func(ev apitype.RunEvent) error {
			if ev.Type == apitype.RunStart {
				pids <- kernel.PID(ev.PID)
			}
			r.events = append(r.events, ev)
			return nil
		})
		done <- r
	}()
	pid := <-pids
	<-asked
	if err := d.kernel.Kill(pid); err != nil {
		t.Fatal(err)
	}
	r := <-done
	last := r.events[len(r.events)-1]
	if r.err != nil || last.Type != apitype.RunError || last.Code != "stopped" ||
		!strings.Contains(last.Message, "agent process "+strconv.FormatUint(uint64(pid), 10)) || !strings.Contains(last.Message, "--resume") {
		t.Fatalf("run: %v, last event %+v", r.err, last)
	}
	// The session's next message is told to resume or reset.
	var next apitype.RunEvent
	err := c.AgentRun(ctx, apitype.RunRequest{Session: "victim", Workspace: ws, Message: "again", Model: "openai/m"}, func(ev apitype.RunEvent) error {
		next = ev
		return nil
	})
	if err != nil || next.Code != "interrupted" {
		t.Fatalf("the next message: %v, %+v", err, next)
	}
}
