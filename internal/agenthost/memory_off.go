//go:build nomemory

package agenthost

import (
	"context"

	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/llm"
)

// MemoryStore stands for the memory a binary built without it (nomemory)
// does not have; Options.Memory is nil.
type MemoryStore struct{}

// memoryTools: no memory, no memory tools offered; a call to one is an
// unknown tool, refused and recorded like any.
var memoryTools []llm.ToolSpec

func (r *ToolRunner) memoryTool(context.Context, llm.ToolCall) (string, error, error, bool) {
	return "", nil, nil, false
}

// recall: no memory, nothing to recall.
func (h *Host) recall(context.Context, *kernel.Process, string, string, string, int) ([]string, []string) {
	return nil, nil
}
