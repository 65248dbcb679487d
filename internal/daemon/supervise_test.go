//go:build !nollm

package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// agentDaemon boots a daemon whose OpenAI-compatible provider is a fake
// answering "done" to everything, with the given definitions in the
// home's agents/ directory.
func agentDaemon(t *testing.T, defs map[string]string) *Daemon {
	t.Helper()
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("done") }})
	t.Cleanup(srv.Close)
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "test")
	t.Setenv("ANTHROPIC_API_KEY", "")
	home := t.TempDir()
	for name, body := range defs {
		if err := os.MkdirAll(filepath.Join(home, "agents"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, "agents", name+".yaml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	d, err := Open(context.Background(), Options{Home: home, Version: "test", Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	t.Cleanup(func() { closeD(t, d) })
	return d
}

// awaitEvent waits, until ctx ends, for an event after which done holds.
func awaitEvent(ctx context.Context, t *testing.T, events <-chan kernel.Event, done func(kernel.Event) bool) {
	t.Helper()
	for {
		select {
		case ev := <-events:
			if done(ev) {
				return
			}
		case <-ctx.Done():
			t.Fatal("timed out waiting for a kernel event")
		}
	}
}

// TestStartedAgents: an agent started from a definition with services
// serves them (a request to its service method is answered by the model,
// even though its IPC scope is its parent, the supervisor); killed, it is
// restarted by its supervisor and serves again under its new PID; what
// cannot serve is refused and not restarted.
func TestStartedAgents(t *testing.T) {
	d := agentDaemon(t, map[string]string{
		"worker":  "model: openai/m\nservices:\n  - name: jobs\n    methods: [run]\nrestart: permanent\nsupervisor:\n  name: workers\n",
		"helper":  "model: openai/m\nservices: [help]\nrestart: transient\nsupervisor: {name: workers, strategy: one_for_one}\n",
		"rival":   "model: openai/m\nrestart: permanent\nsupervisor: {name: workers, strategy: one_for_all}\n",
		"mute":    "model: openai/m\nservices: [quiet]\nrestart: permanent\ncapabilities: {can_exec_tools: true}\n",
		"plain":   "model: openai/m\nservices: [plain]\n",
		"squatty": "model: openai/m\nservices: [taken]\n",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	events := make(chan kernel.Event, 256)
	unsub := d.kernel.Bus().Subscribe(func(ev kernel.Event) {
		if ev.Kind == kernel.EventSupervisorChild || ev.Kind == kernel.EventServiceRegister {
			select {
			case events <- ev:
			default:
			}
		}
	})
	defer unsub()
	ws := t.TempDir()

	worker, err := d.startAgent(ctx, apitype.AgentStartRequest{Agent: "worker", Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	if worker.Supervisor != "workers" || worker.Restart != "permanent" || worker.Session != "worker" || len(worker.Services) != 1 {
		t.Fatalf("start: %+v", worker)
	}
	if in, err := d.kernel.Inspect(worker.PID); err != nil || in.Parent != worker.SupervisorPID {
		t.Fatalf("agent %+v: parent is not the supervisor %d (%v)", in, worker.SupervisorPID, err)
	}
	helper, err := d.startAgent(ctx, apitype.AgentStartRequest{Agent: "helper", Workspace: ws})
	if err != nil || helper.SupervisorPID != worker.SupervisorPID {
		t.Fatalf("second agent of the supervisor: %+v, %v", helper, err)
	}

	// The service answers: the request goes to the agent, the model's
	// answer comes back although the agent's scope is its parent.
	env, err := d.kernel.Request(ctx, &kernel.Envelope{From: kernel.KernelPID, Target: kernel.ToMethod("jobs", "run"), Payload: kernel.Text("go")})
	if err != nil {
		t.Fatal(err)
	}
	var rep agenthost.Reply
	if err := json.Unmarshal(env.Payload.JSON, &rep); err != nil || rep.Answer != "done" {
		t.Fatalf("service reply %s: %v", env.Payload.JSON, err)
	}

	// Killed, the worker comes back under a new PID and serves again.
	if err := d.kernel.Control(ctx, kernel.KernelPID, worker.PID, kernel.OpKill); err != nil {
		t.Fatal(err)
	}
	// The restarted agent may register its service before its supervisor
	// reports the restart: wait for both, in any order.
	var restarted kernel.SupervisorChildEvent
	awaitEvent(ctx, t, events, func(ev kernel.Event) bool {
		if c, ok := ev.Data.(kernel.SupervisorChildEvent); ok && c.Previous == worker.PID {
			restarted = c
		}
		owner, _ := agenthost.ServiceOwner(d.kernel, "jobs")
		return restarted.PID != 0 && owner == restarted.PID
	})
	if restarted.Child != worker.Name || restarted.Restarts != 1 || restarted.Supervisor != worker.SupervisorPID {
		t.Fatalf("restart %+v", restarted)
	}

	cases := []struct {
		name  string
		agent string
		want  error
		msg   string
	}{
		{"already running", "worker", kernel.ErrServiceExists, "jobs"},
		{"contradicts the supervisor", "rival", kernel.ErrInvalid, "one_for_all"},
		{"cannot serve", "mute", kernel.ErrNotRunning, "can_ipc"},
		{"service taken", "squatty", kernel.ErrServiceExists, "taken"},
		{"no such agent", "ghost", nil, "not found"},
	}
	squatter, err := d.kernel.Spawn(ctx, kernel.SpawnSpec{Name: "squatter", Kind: kernel.MailboxKind, InheritCaps: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.kernel.RegisterServiceAs(ctx, kernel.KernelPID, kernel.ServiceSpec{Name: "taken", Owner: squatter}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := d.startAgent(ctx, apitype.AgentStartRequest{Agent: c.agent, Workspace: ws})
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("start %s: %v, want %v (%q)", c.agent, err, c.want, c.msg)
			}
		})
	}
	// The agent that could not serve was dropped by its supervisor, not
	// left to be restarted.
	mute, ok := d.agenthost.Supervisor("mute.sup")
	if !ok {
		t.Fatal("no supervisor mute.sup")
	}
	if _, err := d.kernel.RemoveChild(mute, "mute@mute"); !errors.Is(err, kernel.ErrInvalid) {
		t.Fatalf("the failed agent is still supervised: %v", err)
	}

	// Without a restart policy the agent is the kernel's child.
	plain, err := d.startAgent(ctx, apitype.AgentStartRequest{Agent: "plain", Workspace: ws, Session: "p1"})
	if err != nil || plain.Supervisor != "" {
		t.Fatalf("unsupervised start: %+v, %v", plain, err)
	}
	if in, _ := d.kernel.Inspect(plain.PID); in.Parent != kernel.KernelPID || in.Name != "plain@p1" {
		t.Fatalf("unsupervised agent %+v", in)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServiceRegistrationIsGoverned: the operator's registration is
// decided and recorded on the chain before the service exists (the
// service.register event carries the decision's action id), a refusal is
// recorded too, and with the chain unwritable nothing is registered.
func TestServiceRegistrationIsGoverned(t *testing.T) {
	d := open(t, t.TempDir())
	defer closeD(t, d)
	c, err := client.New(d.Home())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	pid, err := c.Spawn(ctx, apitype.SpawnRequest{Name: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterService(ctx, apitype.ServiceRegisterRequest{Name: "echo", PID: pid, Methods: []string{"ping"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterService(ctx, apitype.ServiceRegisterRequest{Name: "echo", PID: pid}); !errors.Is(err, kernel.ErrServiceExists) {
		t.Fatalf("second registration: %v", err)
	}
	var decided, registered, refused string
	for seq := range d.chain.Len() {
		ev, err := d.chain.Get(seq)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			ActionID string `json:"action_id"`
			Action   string `json:"action"`
			Request  struct {
				Action string `json:"action"`
			} `json:"request"`
		}
		_ = json.Unmarshal(ev.Payload, &p)
		switch {
		case ev.Kind == "governance.decision" && p.Request.Action == "service.register":
			decided = p.ActionID
		case ev.Kind == "service.register" && p.Action == "service.register":
			registered = p.ActionID
		case ev.Kind == "governance.refusal" && p.Request.Action == "service.register":
			refused = p.ActionID
		}
	}
	if decided == "" || registered != decided || refused == "" {
		t.Fatalf("decision %q, registration %q, refusal %q", decided, registered, refused)
	}

	// The chain cannot be written: the node fails closed.
	d.auth.Fail(errors.New("disk gone"))
	_, err = c.RegisterService(ctx, apitype.ServiceRegisterRequest{Name: "other", PID: pid})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Code != "chain_unavailable" {
		t.Fatalf("registration with the chain failed: %v", err)
	}
	if err := c.UnregisterService(ctx, "echo"); err == nil {
		t.Fatal("unregistered with the chain failed")
	}
	if _, ok := agenthost.ServiceOwner(d.kernel, "other"); ok {
		t.Fatal("a service was registered with the chain failed")
	}
	if _, ok := agenthost.ServiceOwner(d.kernel, "echo"); !ok {
		t.Fatal("a service was removed with the chain failed")
	}
}
