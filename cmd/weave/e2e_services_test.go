package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/llm/llmtest"
)

// treeNode is a process of `weave ps --tree --json`.
type treeNode struct {
	PID         uint64 `json:"pid"`
	Parent      uint64 `json:"parent"`
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	State       string `json:"state"`
	Supervision *struct {
		Strategy string `json:"strategy"`
		Restart  string `json:"restart"`
		Restarts int    `json:"restarts"`
	} `json:"supervision"`
	Children []*treeNode `json:"children"`
}

func findNode(nodes []*treeNode, name string) *treeNode {
	for _, n := range nodes {
		if n.Name == name {
			return n
		}
		if f := findNode(n.Children, name); f != nil {
			return f
		}
	}
	return nil
}

// TestServicesAndSupervisors: a process registered as a service receives
// what is sent to it; sending to what cannot take the message fails with
// a clear error (exit 1) instead of "sent" and a dead letter; an agent
// started from a definition serves its services under its supervisor,
// shows under it in `ps --tree`, is restarted when killed and serves
// again under its new PID; every registration was decided on the chain,
// which audits clean.
func TestServicesAndSupervisors(t *testing.T) {
	srv := llmtest.NewOpenAI(llmtest.Options{Handler: func(llmtest.Request) llmtest.Turn { return llmtest.Text("on it") }})
	defer srv.Close()
	// The daemon inherits the provider (a fake on loopback).
	t.Setenv("OPENAI_BASE_URL", srv.URL)
	t.Setenv("OPENAI_API_KEY", "test")
	t.Setenv("ANTHROPIC_API_KEY", "")
	c := &cli{t: t, bin: buildWeave(t), home: filepath.Join(t.TempDir(), "home")}
	c.ok("boot", "--detach")
	t.Cleanup(func() { c.run("shutdown") })

	// Register a mailbox as a service and reach it through it.
	pid := strings.TrimSpace(c.ok("agent", "spawn", "alpha"))
	if out := c.ok("service", "register", "echo", "--pid", pid, "--method", "ping", "--method", "status"); !strings.Contains(out, "service echo: process "+pid) {
		t.Fatalf("register: %s", out)
	}
	var ack struct {
		Reply struct {
			From    uint64 `json:"from"`
			Payload struct {
				JSON struct {
					Ack uint64 `json:"ack"`
				} `json:"json"`
			} `json:"payload"`
		} `json:"reply"`
	}
	c.jsonOut(&ack, "ipc", "send", "service:echo.ping", "hello", "--request")
	if ack.Reply.Payload.JSON.Ack == 0 || ack.Reply.From == 0 {
		t.Fatalf("request to the service: %+v", ack)
	}
	c.ok("ipc", "send", "service:echo", "hello")

	// Undeliverable: an error for the sender, nothing dead-lettered.
	c.fail(cmdline.ExitError, `no such service: "nope"`, "ipc", "send", "service:nope", "x")
	c.fail(cmdline.ExitError, "service has no such method: echo.nope (contract: ping, status)", "ipc", "send", "service:echo.nope", "x")
	c.fail(cmdline.ExitError, `"chain" is a built-in service served at api:/v1/chain`, "ipc", "send", "service:chain", "x")
	c.fail(cmdline.ExitError, "service does not take IPC messages", "ipc", "send", "service:kernel.ps", "{}")
	if dlq := c.ok("ipc", "dlq"); strings.Contains(dlq, "service:") {
		t.Fatalf("refused service messages were dead-lettered:\n%s", dlq)
	}
	c.fail(cmdline.ExitError, "service already registered", "service", "register", "echo", "--pid", pid)
	c.fail(cmdline.ExitError, "no such process", "service", "register", "other", "--pid", "4242")
	c.fail(cmdline.ExitUsage, "needs --pid", "service", "register", "other")
	c.ok("service", "unregister", "echo")
	c.fail(cmdline.ExitError, "no such service", "service", "unregister", "echo")
	// A service goes with its owner.
	c.ok("service", "register", "echo", "--pid", pid)
	c.ok("agent", "stop", pid)
	deadline := time.Now().Add(10 * time.Second)
	for c.serviceOwner("echo") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the service outlived its owner")
		}
	}

	// A supervised agent serving a service.
	def := "model: openai/m\nservices:\n  - name: jobs\n    methods: [run]\nrestart: permanent\nsupervisor:\n  name: workers\n  strategy: one_for_one\n"
	if err := os.MkdirAll(filepath.Join(c.home, "agents"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.home, "agents", "worker.yaml"), []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	var started struct {
		PID           uint64   `json:"pid"`
		Supervisor    string   `json:"supervisor"`
		SupervisorPID uint64   `json:"supervisor_pid"`
		Services      []string `json:"services"`
	}
	c.jsonOut(&started, "agent", "start", "worker", "--workspace", t.TempDir())
	if started.Supervisor != "workers" || len(started.Services) != 1 {
		t.Fatalf("agent start: %+v", started)
	}
	var answer struct {
		Reply struct {
			Payload struct {
				JSON struct {
					Answer string `json:"answer"`
				} `json:"json"`
			} `json:"payload"`
		} `json:"reply"`
	}
	c.jsonOut(&answer, "ipc", "send", "service:jobs.run", "build it", "--request", "--timeout", "20s")
	if answer.Reply.Payload.JSON.Answer != "on it" {
		t.Fatalf("the agent's service answered %+v", answer)
	}
	tree := c.ok("ps", "--tree")
	for _, want := range []string{"└─ workers", "   └─ worker@worker", "one_for_one, max 5 in 1m0s", "permanent, 0 restarts"} {
		if !strings.Contains(tree, want) {
			t.Fatalf("ps --tree lacks %q:\n%s", want, tree)
		}
	}

	// Killed, it is restarted under its supervisor with a new PID, and
	// its service follows.
	c.ok("agent", "kill", itoa(started.PID))
	var agent *treeNode
	deadline = time.Now().Add(20 * time.Second)
	for {
		var roots []*treeNode
		c.jsonOut(&roots, "ps", "--tree")
		sup := findNode(roots, "workers")
		if sup == nil || sup.PID != started.SupervisorPID || sup.Parent != 0 || sup.Supervision == nil || sup.Supervision.Strategy != "one_for_one" {
			t.Fatalf("supervisor in the tree: %+v", sup)
		}
		agent = findNode(sup.Children, "worker@worker")
		if agent != nil && agent.PID != started.PID && agent.State == "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed agent was not restarted: %+v", sup)
		}
	}
	if agent.Parent != started.SupervisorPID || agent.Supervision == nil || agent.Supervision.Restart != "permanent" || agent.Supervision.Restarts != 1 {
		t.Fatalf("restarted agent %+v", agent)
	}
	if out := c.ok("ps", "--tree"); !strings.Contains(out, "permanent, 1 restart") {
		t.Fatalf("ps --tree after the restart:\n%s", out)
	}
	deadline = time.Now().Add(10 * time.Second)
	for c.serviceOwner("jobs") != agent.PID {
		if time.Now().After(deadline) {
			t.Fatalf("jobs not re-registered by %d:\n%s", agent.PID, c.ok("service", "list"))
		}
	}
	c.jsonOut(&answer, "ipc", "send", "service:jobs.run", "again", "--request", "--timeout", "20s")
	if answer.Reply.Payload.JSON.Answer != "on it" {
		t.Fatalf("the restarted agent's service answered %+v", answer)
	}

	// The restart is on the chain, every registration was decided, and the
	// chain audits clean.
	if out := c.ok("chain", "tail", "-n", "1000", "--kind", "supervisor.start_child", "--json"); !strings.Contains(out, fmt.Sprintf(`"previous_pid":%d`, started.PID)) {
		t.Fatalf("the restart is not on the chain:\n%s", out)
	}
	decided := 0
	for _, line := range strings.Split(strings.TrimSpace(c.ok("chain", "tail", "-n", "1000", "--kind", "governance.decision", "--json")), "\n") {
		if strings.Contains(line, `"action":"service.register"`) {
			decided++
		}
	}
	if decided < 4 { // echo twice by the operator, jobs by each instance of the agent
		t.Fatalf("%d service.register decisions on the chain", decided)
	}
	if out := c.ok("gov", "audit"); !strings.Contains(out, "findings: none") {
		t.Fatalf("audit:\n%s", out)
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// serviceOwner is the owner of the service called name (0: none).
func (c *cli) serviceOwner(name string) uint64 {
	c.t.Helper()
	var svcs []struct {
		Name  string `json:"name"`
		Owner uint64 `json:"owner"`
	}
	c.jsonOut(&svcs, "service", "list")
	for _, s := range svcs {
		if s.Name == name {
			return s.Owner
		}
	}
	return 0
}
