package tools

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
)

type spawnAgentIn struct {
	Name  string `json:"name"`
	Agent string `json:"agent"`
	Task  string `json:"task"`
}

// SpawnAgentResult is the output of spawn_agent.
type SpawnAgentResult struct {
	PID  uint64 `json:"pid"`
	Name string `json:"name"`
}

// spawnArgs is what spawn_agent passes to Kernel.Spawn for kind "agent".
type spawnArgs struct {
	Agent string `json:"agent,omitempty"`
	Task  string `json:"task,omitempty"`
}

func spawnAgentTool() Tool {
	s := object([]string{"name"}, map[string]*Schema{
		"name":  {Type: "string", Description: "Process name of the new agent.", MinLength: ptr(1), MaxLength: ptr(128)},
		"agent": {Type: "string", Description: "Agent definition to run (agents/NAME.yaml). Default: the same kind of agent as the caller.", MaxLength: ptr(128)},
		"task":  {Type: "string", Description: "First message for the new agent.", MaxLength: ptr(64 << 10)},
	})
	return newBuiltin("spawn_agent",
		"Start a child agent as a kernel process, optionally with a first task. Returns its PID, which send_message can address. The child gets at most the caller's capabilities.",
		s, func(_ *Env, in *spawnAgentIn) (Action, error) {
			return Action{Name: "agent.spawn", Tool: "spawn_agent", Extra: map[string]string{"name": in.Name, "agent": in.Agent}}, nil
		}, runSpawnAgent)
}

func runSpawnAgent(ctx context.Context, env *Env, in *spawnAgentIn) (any, error) {
	const tool = "spawn_agent"
	if env.kernel == nil {
		return nil, toolErr(tool, CodeUnavailable, nil, "no kernel is attached; agents cannot be spawned here")
	}
	args, err := json.Marshal(spawnArgs{Agent: in.Agent, Task: in.Task})
	if err != nil {
		return nil, toolErr(tool, CodeFailed, err, "cannot encode the spawn arguments")
	}
	pid, err := env.kernel.Spawn(ctx, in.Name, "agent", args)
	if err != nil {
		return nil, kernelErr(ctx, tool, err, "spawning %q failed: %v", in.Name, err)
	}
	return &SpawnAgentResult{PID: pid, Name: in.Name}, nil
}

type sendMessageIn struct {
	ToPID int64  `json:"to_pid"`
	Text  string `json:"text"`
}

// SendMessageResult is the output of send_message.
type SendMessageResult struct {
	Delivered bool   `json:"delivered"`
	ToPID     uint64 `json:"to_pid"`
}

func sendMessageTool() Tool {
	s := object([]string{"to_pid", "text"}, map[string]*Schema{
		"to_pid": integer("PID of the receiving process (from spawn_agent or the process list).", 1, 1<<53),
		"text":   {Type: "string", Description: "Message text.", MinLength: ptr(1), MaxLength: ptr(64 << 10)},
	})
	return newBuiltin("send_message",
		"Send a text message to another process over kernel IPC. Returns once the message is delivered to its inbox.",
		s, func(_ *Env, in *sendMessageIn) (Action, error) {
			return Action{Name: "ipc.send", Tool: "send_message", Extra: map[string]string{"to_pid": strconv.FormatInt(in.ToPID, 10)}}, nil
		}, runSendMessage)
}

func runSendMessage(ctx context.Context, env *Env, in *sendMessageIn) (any, error) {
	const tool = "send_message"
	if env.kernel == nil {
		return nil, toolErr(tool, CodeUnavailable, nil, "no kernel is attached; messages cannot be sent here")
	}
	if err := env.kernel.Send(ctx, uint64(in.ToPID), in.Text); err != nil {
		return nil, kernelErr(ctx, tool, err, "sending to PID %d failed: %v", in.ToPID, err)
	}
	return &SendMessageResult{Delivered: true, ToPID: uint64(in.ToPID)}, nil
}

// kernelErr wraps a kernel error: the kernel's own error stays in the chain
// (so errors.Is against kernel sentinels works) and its text reaches the
// model.
func kernelErr(ctx context.Context, tool string, err error, format string, args ...any) error {
	code := CodeFailed
	switch {
	case errors.Is(err, context.DeadlineExceeded), ctx.Err() != nil:
		code = CodeTimeout
	}
	return toolErr(tool, code, err, format, args...)
}
