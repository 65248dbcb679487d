package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"sync"

	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/session"
)

// exitError carries an exit code for cmdline.Report.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }
func (e *exitError) ExitCode() int { return e.code }

func cmdAgent(e *env, fs *flag.FlagSet) cmdline.Action {
	msg := fs.String("m", "", "one-shot message: print the answer and exit (0 ok, 1 agent error, 2 no provider/config)")
	model := fs.String("model", "", "model as provider/model (default: agents.model in weftos.toml)")
	sessionName := fs.String("session", "default", "session name: the conversation continues across runs")
	agentName := fs.String("agent", "", "agent definition (agents/NAME.yaml in the workspace or the home)")
	workspace := fs.String("workspace", "", "workspace directory (default: the current directory)")
	resume := fs.Bool("resume", false, "resume the session's interrupted run without repeating completed tool calls")
	maxTurns := fs.Int("max-turns", 0, "model calls allowed per run, 1..1000 (default: the agent definition's max_turns, else agents.max_turns in weftos.toml)")
	return func(ctx context.Context, _ []string) error {
		if *maxTurns < 0 || *maxTurns > agentdef.MaxMaxTurns {
			return cmdline.Usagef("agent: --max-turns %d: want 1 to %d", *maxTurns, agentdef.MaxMaxTurns)
		}
		if err := session.CheckName(*sessionName); err != nil {
			return cmdline.Usagef("agent: --session: %v", err)
		}
		ws, err := workspaceDir(*workspace)
		if err != nil {
			return err
		}
		c, closeFn, err := e.connect(ctx)
		if err != nil {
			return err
		}
		defer closeFn()
		req := apitype.RunRequest{Agent: *agentName, Model: *model, Session: *sessionName, Workspace: ws, MaxTurns: *maxTurns}
		if *resume {
			r := req
			r.Resume = true
			r.Once = *msg == "" // nothing follows: the agent need not linger
			if err := e.turn(ctx, c, r); err != nil {
				return err
			}
			if *msg == "" {
				return nil
			}
		}
		if *msg != "" {
			req.Message, req.Once = *msg, true
			return e.turn(ctx, c, req)
		}
		return e.repl(ctx, c, req)
	}
}

// turn sends one request and streams the answer to stdout; tool calls and
// approvals the run waits for are shown on stderr as they happen. What was
// printed of the final turn must equal the final answer: a mismatch (lost
// output) is an error, never a silent success.
func (e *env) turn(ctx context.Context, c *client.Client, req apitype.RunRequest) error {
	streamed := false
	var final *apitype.RunEvent
	var last strings.Builder // the text streamed for the newest model call
	lastTurn := -1
	err := c.AgentRun(ctx, req, func(ev apitype.RunEvent) error {
		switch ev.Type {
		case apitype.RunDelta:
			if ev.Turn != lastTurn {
				if streamed && !e.json {
					fmt.Fprintln(e.stdout)
				}
				last.Reset()
				lastTurn = ev.Turn
			}
			last.WriteString(ev.Text)
			if !e.json {
				fmt.Fprint(e.stdout, ev.Text)
				if f, ok := e.stdout.(interface{ Sync() error }); ok {
					_ = f.Sync()
				}
			}
			streamed = true
		case apitype.RunToolCall:
			if !e.json {
				fmt.Fprintf(e.stderr, "  [tool] %s %s\n", ev.Tool, oneLine(ev.Args))
			}
		case apitype.RunToolResult:
			if !e.json {
				status := "ok"
				if ev.OK != nil && !*ev.OK {
					status = "error"
				}
				fmt.Fprintf(e.stderr, "  [tool] %s -> %s: %s\n", ev.Tool, status, oneLine(ev.Summary))
			}
		case apitype.RunApproval:
			fmt.Fprintf(e.stderr, "weft: %s needs approval (%s); waiting — approve with: weave gov approve %s\n", ev.Action, ev.Reason, ev.ActionID)
		case apitype.RunFinal, apitype.RunError:
			final = &ev
		}
		return nil
	})
	if err != nil {
		var ae *client.APIError
		if errors.As(err, &ae) && ae.Code == "no_provider" {
			return &exitError{code: cmdline.ExitUsage, msg: ae.Message + e.daemonHint()}
		}
		return err
	}
	if final == nil {
		return errors.New("the daemon ended the run without an answer")
	}
	if e.json {
		return cmdline.PrintJSON(e.stdout, final)
	}
	if final.Type == apitype.RunError {
		if streamed {
			fmt.Fprintln(e.stdout)
		}
		code, msg := cmdline.ExitError, final.Message
		if final.Code == "no_provider" {
			code, msg = cmdline.ExitUsage, msg+e.daemonHint()
		}
		return &exitError{code: code, msg: msg}
	}
	if !streamed {
		fmt.Fprint(e.stdout, final.Answer)
	} else if final.Answer != "" && last.String() != final.Answer {
		fmt.Fprintln(e.stdout)
		return &exitError{code: cmdline.ExitError, msg: fmt.Sprintf("the streamed answer (%d bytes) differs from the final answer (%d bytes): output was lost; the full answer is in the session (weft sessions show %s)",
			last.Len(), len(final.Answer), req.Session)}
	}
	if req.Message != "" || req.Resume {
		fmt.Fprintln(e.stdout)
	}
	return nil
}

// oneLine flattens s for a one-line status display.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// replHelp lists the REPL's slash commands.
const replHelp = `/help            this list
/exit, /quit     leave (Ctrl-D too)
/reset           start the conversation afresh (the session keeps its journal)
/model [NAME]    show or set the model, provider/model
/session [NAME]  show or switch the session
/tools           the tools this agent is offered
Ctrl-C           cancel the answer in progress`

// repl is the interactive chat. An error in one exchange (a bad model, a
// provider down) is shown and the REPL goes on; Ctrl-C cancels the answer
// in progress, not the REPL.
func (e *env) repl(ctx context.Context, c *client.Client, req apitype.RunRequest) error {
	in := bufio.NewScanner(e.stdin)
	in.Buffer(make([]byte, 64<<10), 4<<20)
	fmt.Fprintf(e.stderr, "weft: session %q, workspace %s — /help for commands, /exit to quit\n", req.Session, req.Workspace)
	var mu sync.Mutex
	var cancelTurn context.CancelFunc // the answer in progress, if any
	e.setInterrupt(func() bool {
		mu.Lock()
		defer mu.Unlock()
		if cancelTurn != nil {
			cancelTurn()
			return true
		}
		fmt.Fprint(e.stderr, "\n(/exit or Ctrl-D to quit)\n> ")
		return true
	})
	defer e.setInterrupt(nil)
	// exchange runs one request to the agent, cancellable with Ctrl-C.
	exchange := func(r apitype.RunRequest) error {
		tctx, cancel := context.WithCancel(ctx)
		mu.Lock()
		cancelTurn = cancel
		mu.Unlock()
		defer func() {
			mu.Lock()
			cancelTurn = nil
			mu.Unlock()
			cancel()
		}()
		err := e.turn(tctx, c, r)
		if err != nil && tctx.Err() != nil && ctx.Err() == nil {
			return errCancelled
		}
		return err
	}
	for {
		fmt.Fprint(e.stderr, "> ")
		if !in.Scan() {
			fmt.Fprintln(e.stderr)
			return in.Err()
		}
		if ctx.Err() != nil {
			return nil
		}
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "/") {
			cmd, arg, _ := strings.Cut(line, " ")
			arg = strings.TrimSpace(arg)
			switch cmd {
			case "/exit", "/quit":
				return nil
			case "/help", "/?":
				fmt.Fprintln(e.stderr, replHelp)
			case "/reset":
				r := req
				r.Reset = true
				if err := exchange(r); err != nil {
					fmt.Fprintln(e.stderr, "weft:", cmdline.OneLine(err.Error()))
				} else {
					fmt.Fprintln(e.stderr, "conversation cleared (the session's journal keeps the earlier steps)")
				}
			case "/model":
				if arg == "" {
					fmt.Fprintf(e.stderr, "model: %q (empty: the configured default)\n", req.Model)
				} else if err := checkModelProvider(ctx, c, arg); err != nil {
					fmt.Fprintf(e.stderr, "weft: %v; the model stays %q\n", err, req.Model)
				} else {
					req.Model = arg
				}
			case "/session":
				if arg == "" {
					fmt.Fprintf(e.stderr, "session: %s\n", req.Session)
				} else if err := session.CheckName(arg); err != nil {
					fmt.Fprintf(e.stderr, "weft: %v; the session stays %q\n", err, req.Session)
				} else {
					req.Session = arg
				}
			case "/tools":
				tools, err := c.AgentTools(ctx, req.Workspace, req.Agent)
				if err != nil {
					fmt.Fprintln(e.stderr, "weft:", cmdline.OneLine(err.Error()))
					continue
				}
				for _, t := range tools {
					fmt.Fprintf(e.stderr, "  %-14s %s\n", t.Name, t.Description)
				}
			default:
				fmt.Fprintf(e.stderr, "unknown command %s (/help lists them)\n", cmd)
			}
			continue
		}
		r := req
		r.Message = line
		err := exchange(r)
		switch {
		case err == nil:
		case errors.Is(err, errCancelled):
			fmt.Fprintln(e.stderr, "\nweft: answer cancelled")
		case ctx.Err() != nil:
			return nil
		default:
			// Shown, and the REPL goes on: /model or /session may fix it.
			fmt.Fprintln(e.stderr, "weft:", cmdline.OneLine(err.Error()))
		}
	}
}

// errCancelled is an exchange the user cancelled with Ctrl-C.
var errCancelled = errors.New("cancelled")

// daemonHint explains, when a running daemon lacks a provider, that it is
// the daemon's environment that counts.
func (e *env) daemonHint() string {
	if !e.external {
		return ""
	}
	return " (a weave daemon is running on this home: it reads OPENAI_API_KEY, OPENAI_BASE_URL and ANTHROPIC_API_KEY when it boots — restart it with them set, or add [[providers]] to weftos.toml)"
}

// checkModelProvider refuses a provider/model whose provider the daemon
// does not have, as the run would; a bare model, or a daemon that cannot
// say, is left to the run.
func checkModelProvider(ctx context.Context, c *client.Client, model string) error {
	provider, _, ok := strings.Cut(model, "/")
	if !ok {
		return nil
	}
	st, err := c.Status(ctx)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(st.Providers))
	for _, p := range st.Providers {
		if p.Name == provider {
			return nil
		}
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return fmt.Errorf("unknown provider %q in model %q: no provider is configured", provider, model)
	}
	return fmt.Errorf("unknown provider %q in model %q (configured: %s)", provider, model, strings.Join(names, ", "))
}
