package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/kernel"
)

// psNode is a process in `weave ps --tree`: its listing, how it is
// supervised and its children.
type psNode struct {
	kernel.Info
	Supervision *psSupervision `json:"supervision,omitempty"`
	Children    []*psNode      `json:"children,omitempty"`
}

// psSupervision describes a supervisor (strategy and restart budget) or a
// supervised child (its id, restart type and restart count).
type psSupervision struct {
	Strategy    string        `json:"strategy,omitempty"`
	MaxRestarts int           `json:"max_restarts,omitempty"`
	Window      kernel.Millis `json:"window_ms,omitempty"`
	Child       string        `json:"child,omitempty"`
	Restart     string        `json:"restart,omitempty"`
	Restarts    int           `json:"restarts"`
}

// supervisorDetail is what `agent inspect` shows of a supervisor.
type supervisorDetail struct {
	Strategy    string                   `json:"strategy"`
	MaxRestarts int                      `json:"max_restarts"`
	Window      kernel.Millis            `json:"window_ms"`
	Children    []kernel.SupervisorChild `json:"children"`
}

// buildTree arranges ps by parent, PID 0 at the root; a process whose
// parent is not listed (it exited) hangs from the root too. Supervisors
// are inspected for their strategy and their children's restarts.
func buildTree(ctx context.Context, c *client.Client, ps []kernel.Info) ([]*psNode, error) {
	nodes := make(map[kernel.PID]*psNode, len(ps))
	for _, p := range ps {
		nodes[p.PID] = &psNode{Info: p}
	}
	for _, p := range ps {
		if p.Kind != "supervisor" || p.State == kernel.StateExited {
			continue
		}
		in, err := c.Inspect(ctx, p.PID)
		if errors.Is(err, kernel.ErrUnknownPID) {
			continue // exited meanwhile
		}
		if err != nil {
			return nil, err
		}
		var det supervisorDetail
		b, _ := json.Marshal(in.Detail)
		if err := json.Unmarshal(b, &det); err != nil {
			return nil, fmt.Errorf("supervisor %d: %w", p.PID, err)
		}
		nodes[p.PID].Supervision = &psSupervision{Strategy: det.Strategy, MaxRestarts: det.MaxRestarts, Window: det.Window}
		for _, ch := range det.Children {
			if n := nodes[ch.PID]; n != nil && ch.PID != 0 && n.Parent == p.PID {
				n.Supervision = &psSupervision{Child: ch.ID, Restart: ch.Restart, Restarts: ch.Restarts}
			}
		}
	}
	var roots []*psNode
	for _, p := range ps { // ps is sorted by PID: children keep that order
		n := nodes[p.PID]
		parent := nodes[p.Parent]
		if p.PID == kernel.KernelPID || parent == nil {
			roots = append(roots, n)
			continue
		}
		parent.Children = append(parent.Children, n)
	}
	return roots, nil
}

// printTree draws the tree as a table whose NAME column is indented.
func printTree(e *env, roots []*psNode) error {
	now := time.Now()
	var rows [][]string
	var walk func(n *psNode, prefix, branch string)
	walk = func(n *psNode, prefix, branch string) {
		rows = append(rows, []string{n.PID.String(), prefix + branch + n.Name, n.Kind, stateOf(n.Info), supervisionOf(n),
			fmt.Sprint(n.MsgsSent), age(now.Sub(n.Started))})
		switch branch {
		case "├─ ":
			prefix += "│  "
		case "└─ ":
			prefix += "   "
		}
		for i, c := range n.Children {
			b := "├─ "
			if i == len(n.Children)-1 {
				b = "└─ "
			}
			walk(c, prefix, b)
		}
	}
	for _, r := range roots {
		walk(r, "", "")
	}
	return cmdline.Table(e.stdout, []string{"PID", "NAME", "KIND", "STATE", "SUPERVISION", "MSGS", "AGE"}, rows)
}

func supervisionOf(n *psNode) string {
	s := n.Supervision
	switch {
	case s == nil:
		return ""
	case s.Strategy != "":
		return fmt.Sprintf("%s, max %d in %s", s.Strategy, s.MaxRestarts, s.Window.Duration())
	case s.Restarts == 1:
		return s.Restart + ", 1 restart"
	default:
		return fmt.Sprintf("%s, %d restarts", s.Restart, s.Restarts)
	}
}
