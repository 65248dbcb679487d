package tools

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
)

type fakeKernel struct {
	mu      sync.Mutex
	nextPID uint64
	spawned []string
	sent    []string
	err     error
}

var _ Kernel = (*fakeKernel)(nil)

func (k *fakeKernel) Spawn(ctx context.Context, name, kind string, args json.RawMessage) (uint64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return 0, k.err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	k.nextPID++
	k.spawned = append(k.spawned, name+"|"+kind+"|"+string(args))
	return 100 + k.nextPID, nil
}

func (k *fakeKernel) Send(ctx context.Context, to uint64, text string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return k.err
	}
	k.sent = append(k.sent, strconv.FormatUint(to, 10)+"|"+text)
	return nil
}

var errScope = errors.New("scope_violation")

func TestSpawnAgent(t *testing.T) {
	tests := []struct {
		name    string
		kernel  *fakeKernel
		in      map[string]any
		code    string
		want    SpawnAgentResult
		spawned string
	}{
		{"spawn", &fakeKernel{}, map[string]any{"name": "helper", "agent": "reviewer", "task": "review x"}, "", SpawnAgentResult{PID: 101, Name: "helper"}, `helper|agent|{"agent":"reviewer","task":"review x"}`},
		{"name only", &fakeKernel{}, map[string]any{"name": "h"}, "", SpawnAgentResult{PID: 101, Name: "h"}, `h|agent|{}`},
		{"kernel refuses", &fakeKernel{err: errScope}, map[string]any{"name": "h"}, CodeFailed, SpawnAgentResult{}, ""},
		{"no kernel", nil, map[string]any{"name": "h"}, CodeUnavailable, SpawnAgentResult{}, ""},
		{"empty name", &fakeKernel{}, map[string]any{"name": ""}, CodeInvalidInput, SpawnAgentResult{}, ""},
		{"extra field", &fakeKernel{}, map[string]any{"name": "h", "caps": "all"}, CodeInvalidInput, SpawnAgentResult{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var k Kernel
			if tc.kernel != nil {
				k = tc.kernel
			}
			env, _, _ := newEnv(t, Policy{}, k)
			out, err := tool(t, "spawn_agent").Run(context.Background(), env, mustJSON(t, tc.in))
			wantCode(t, err, tc.code)
			if tc.kernel != nil && tc.kernel.err != nil && !errors.Is(err, errScope) {
				t.Fatalf("kernel error not in the chain: %v", err)
			}
			if tc.code != "" {
				return
			}
			if got := decodeInto[SpawnAgentResult](t, out); got != tc.want {
				t.Fatalf("got %+v", got)
			}
			if len(tc.kernel.spawned) != 1 || tc.kernel.spawned[0] != tc.spawned {
				t.Fatalf("spawned %v", tc.kernel.spawned)
			}
		})
	}
}

func TestSendMessage(t *testing.T) {
	tests := []struct {
		name   string
		kernel *fakeKernel
		in     map[string]any
		code   string
	}{
		{"send", &fakeKernel{}, map[string]any{"to_pid": 7, "text": "hi"}, ""},
		{"kernel refuses", &fakeKernel{err: errScope}, map[string]any{"to_pid": 7, "text": "hi"}, CodeFailed},
		{"deadline", &fakeKernel{err: context.DeadlineExceeded}, map[string]any{"to_pid": 7, "text": "hi"}, CodeTimeout},
		{"no kernel", nil, map[string]any{"to_pid": 7, "text": "hi"}, CodeUnavailable},
		{"pid zero", &fakeKernel{}, map[string]any{"to_pid": 0, "text": "hi"}, CodeInvalidInput},
		{"pid negative", &fakeKernel{}, map[string]any{"to_pid": -1, "text": "hi"}, CodeInvalidInput},
		{"pid string", &fakeKernel{}, map[string]any{"to_pid": "7", "text": "hi"}, CodeInvalidInput},
		{"empty text", &fakeKernel{}, map[string]any{"to_pid": 7, "text": ""}, CodeInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var k Kernel
			if tc.kernel != nil {
				k = tc.kernel
			}
			env, _, _ := newEnv(t, Policy{}, k)
			out, err := tool(t, "send_message").Run(context.Background(), env, mustJSON(t, tc.in))
			wantCode(t, err, tc.code)
			if tc.code != "" {
				return
			}
			if got := decodeInto[SendMessageResult](t, out); !got.Delivered || got.ToPID != 7 {
				t.Fatalf("got %+v", got)
			}
			if len(tc.kernel.sent) != 1 || tc.kernel.sent[0] != "7|hi" {
				t.Fatalf("sent %v", tc.kernel.sent)
			}
		})
	}
}

func TestAgentActions(t *testing.T) {
	a, err := tool(t, "spawn_agent").Action(nil, mustJSON(t, map[string]any{"name": "h", "agent": "reviewer"}))
	wantCode(t, err, "")
	if a.Name != "agent.spawn" || a.Extra["name"] != "h" || a.Extra["agent"] != "reviewer" {
		t.Fatalf("%+v", a)
	}
	a, err = tool(t, "send_message").Action(nil, mustJSON(t, map[string]any{"to_pid": 42, "text": "x"}))
	wantCode(t, err, "")
	if a.Name != "ipc.send" || a.Extra["to_pid"] != "42" {
		t.Fatalf("%+v", a)
	}
}

func TestRegistry(t *testing.T) {
	r := Default()
	want := "edit_file list_dir read_file send_message shell_exec spawn_agent web_fetch write_file"
	if got := strings.Join(r.Names(), " "); got != want {
		t.Fatalf("names %s", got)
	}
	if _, err := NewRegistry(readFileTool(), readFileTool()); err == nil {
		t.Fatal("duplicate accepted")
	}
	if _, err := NewRegistry(nil); err == nil {
		t.Fatal("nil tool accepted")
	}
	_, _, err := r.Action(nil, "rm_rf", nil)
	wantCode(t, err, CodeInvalidInput)
	if !strings.Contains(err.Error(), "read_file") {
		t.Fatalf("message should list the tools: %v", err)
	}
	tl, a, err := r.Action(nil, "send_message", json.RawMessage(`{"to_pid":1,"text":"x"}`))
	if err != nil || tl.Name() != "send_message" || a.Name != "ipc.send" {
		t.Fatalf("%v %+v", err, a)
	}
	// Run without an Env is refused cleanly.
	_, err = tl.Run(context.Background(), nil, json.RawMessage(`{"to_pid":1,"text":"x"}`))
	wantCode(t, err, CodeUnavailable)
	// Schema returns a copy.
	s := tl.Schema()
	s[0] = 'X'
	if tl.Schema()[0] != '{' {
		t.Fatal("Schema exposes internal bytes")
	}
}

func TestToolErrorFormat(t *testing.T) {
	cause := errors.New("boom")
	err := error(&ToolError{Tool: "read_file", Code: CodeNotFound, Msg: "a.txt does not exist", Err: cause})
	if err.Error() != "read_file: not_found: a.txt does not exist" {
		t.Fatal(err.Error())
	}
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, cause) || errors.Is(err, ErrDenied) {
		t.Fatal("unwrap")
	}
	if ErrorCode(nil) != "" || ErrorCode(cause) != CodeFailed || ErrorCode(err) != CodeNotFound {
		t.Fatal("ErrorCode")
	}
}
