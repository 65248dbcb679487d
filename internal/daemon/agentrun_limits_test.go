package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
)

// TestAgentRunRejectsBadMaxTurns: a run's turn limit outside 1..1000 (0
// leaves it to the definition and the config) is a bad request, refused
// before any agent starts.
func TestAgentRunRejectsBadMaxTurns(t *testing.T) {
	_, c := openClient(t, t.TempDir())
	for _, n := range []int{-1, 1001} {
		err := c.AgentRun(context.Background(), apitype.RunRequest{Session: "s", Workspace: t.TempDir(), Message: "hi", MaxTurns: n},
			func(ev apitype.RunEvent) error { t.Errorf("max_turns %d: event %+v", n, ev); return nil })
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Code != "invalid_argument" || !strings.Contains(ae.Message, "max_turns") {
			t.Errorf("max_turns %d: %v; want invalid_argument", n, err)
		}
	}
}
