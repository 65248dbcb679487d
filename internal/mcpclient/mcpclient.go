// Package mcpclient connects WeftOS agents to MCP servers
// (github.com/modelcontextprotocol/go-sdk): a program speaking MCP on its
// stdin and stdout, started confined with Linux Landlock as shell_exec
// programs are (the workspace and a private temporary directory
// read-write, system paths and the program's own directory read-only, TCP
// denied unless the agent holds can_network, only allow-listed
// environment variables), or a streamable HTTP endpoint.
//
// The package decides nothing: the daemon offers a server's tools to an
// agent as mcp.SERVER.TOOL and runs every call through the authority
// pipeline (mcp.call) before Call is reached.
package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weftos/weftos/internal/landlock"
)

// Errors.
var (
	// ErrUnconfined: the program cannot be confined here and the policy
	// requires it.
	ErrUnconfined = errors.New("mcpclient: the server program cannot be confined on this system")
	// ErrServer: the server could not be started or did not speak MCP.
	ErrServer = errors.New("mcpclient: MCP server unavailable")
)

// Server is one MCP server: Command (absolute) with Args and the names of
// the environment variables it receives, or URL.
type Server struct {
	Name      string
	Command   string
	Args      []string
	Env       []string
	URL       string
	ReadPaths []string
}

// Mode says how stdio servers are confined (the shell policy's modes).
type Mode string

// Confinement modes.
const (
	Required   Mode = "required"    // confine, or refuse to start
	BestEffort Mode = "best_effort" // confine where the system can
	Off        Mode = "off"         // never confine
)

// Confinement is what a stdio server's program may reach.
type Confinement struct {
	Workspace string   // read-write, and the program's working directory
	ReadOnly  []string // system paths it may read and execute
	Network   bool     // TCP allowed
	Mode      Mode
	// Path is the program's PATH (its interpreter's helpers); default
	// /usr/local/bin:/usr/bin:/bin.
	Path string
	// Getenv reads the daemon's environment for the allow-listed
	// variables (default os.Getenv).
	Getenv func(string) string
}

// Options configure Dial.
type Options struct {
	Confinement Confinement
	HTTPClient  *http.Client // for URL servers; default http.DefaultClient
	// MaxOutput caps the text of one call's result (default 256 KiB);
	// what is cut is said at the end of the text.
	MaxOutput int
}

// Tool is one tool of a server.
type Tool struct {
	Name        string // as the server names it
	Description string
	InputSchema json.RawMessage
}

// Conn is a connection to one server. It is safe for concurrent use.
type Conn struct {
	server Server
	cs     *mcp.ClientSession
	tools  []Tool
	max    int

	cmd      *exec.Cmd
	tmp      string
	confined bool
	note     string
	stderr   *tail

	closeOnce sync.Once
	closeErr  error
}

var toolNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$`)

// Dial starts or reaches the server, initialises an MCP session and lists
// its tools (tools with names WeftOS cannot offer are left out and named
// in Note).
func Dial(ctx context.Context, s Server, opts Options) (*Conn, error) {
	c := &Conn{server: s, max: opts.MaxOutput}
	if c.max <= 0 {
		c.max = 256 << 10
	}
	var t mcp.Transport
	if s.URL != "" {
		hc := opts.HTTPClient
		if hc == nil {
			hc = http.DefaultClient
		}
		t = &mcp.StreamableClientTransport{Endpoint: s.URL, HTTPClient: hc, DisableStandaloneSSE: true, MaxRetries: -1}
	} else {
		var err error
		if t, err = c.start(s, opts.Confinement); err != nil {
			return nil, err
		}
	}
	cl := mcp.NewClient(&mcp.Implementation{Name: "weftos", Version: "1"}, nil)
	cs, err := cl.Connect(ctx, t, nil)
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("%w: %s: %v%s", ErrServer, s.Name, err, c.stderrNote())
	}
	c.cs = cs
	var skipped []string
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("%w: %s: listing tools: %v", ErrServer, s.Name, err)
		}
		if !toolNameRE.MatchString(tool.Name) {
			skipped = append(skipped, fmt.Sprintf("%q", tool.Name))
			continue
		}
		schema, err := json.Marshal(tool.InputSchema)
		if err != nil || tool.InputSchema == nil {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		c.tools = append(c.tools, Tool{Name: tool.Name, Description: tool.Description, InputSchema: schema})
	}
	if len(skipped) > 0 {
		c.note = strings.TrimSpace(c.note + " tools with names WeftOS cannot offer were left out: " + strings.Join(skipped, ", "))
	}
	return c, nil
}

// start starts the server's program, confined, and returns a transport
// over its stdin and stdout.
func (c *Conn) start(s Server, conf Confinement) (mcp.Transport, error) {
	if !filepath.IsAbs(s.Command) {
		return nil, fmt.Errorf("%w: %s: command %q is not an absolute path", ErrServer, s.Name, s.Command)
	}
	getenv := conf.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	path := conf.Path
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	tmp, err := os.MkdirTemp("", "weftos-mcp-")
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrServer, s.Name, err)
	}
	c.tmp = tmp
	cmd := exec.Command(s.Command, s.Args...)
	cmd.Dir = conf.Workspace
	cmd.Env = []string{"PATH=" + path, "HOME=" + conf.Workspace, "TMPDIR=" + tmp, "LANG=C.UTF-8"}
	for _, name := range s.Env {
		if v, ok := lookup(getenv, name); ok {
			cmd.Env = append(cmd.Env, name+"="+v)
		}
	}
	c.stderr = &tail{max: 4096}
	cmd.Stderr = c.stderr
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("%w: %s: %v", ErrServer, s.Name, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		c.stop()
		return nil, fmt.Errorf("%w: %s: %v", ErrServer, s.Name, err)
	}
	c.cmd = cmd
	readExec := append(append([]string{filepath.Dir(s.Command)}, conf.ReadOnly...), s.ReadPaths...)
	rules := landlock.Rules{ReadWrite: []string{conf.Workspace, tmp, os.DevNull}, ReadExec: readExec, DenyNetwork: !conf.Network}
	switch conf.Mode {
	case Off:
		err = cmd.Start()
		c.note = "not confined: confinement is off in the shell policy"
	default:
		_, err = landlock.Start(cmd, rules)
		c.confined = err == nil
		if errors.Is(err, landlock.ErrUnsupported) {
			if conf.Mode != BestEffort {
				c.cmd = nil
				c.stop()
				return nil, fmt.Errorf("%w (%v): server %s is refused; agents.shell_confinement = \"best_effort\" runs it unconfined", ErrUnconfined, err, s.Name)
			}
			c.note = "not confined: " + err.Error()
			err = cmd.Start()
		}
	}
	if err != nil {
		c.cmd = nil
		c.stop()
		return nil, fmt.Errorf("%w: %s: starting %s: %v", ErrServer, s.Name, s.Command, err)
	}
	return &mcp.IOTransport{Reader: stdout, Writer: stdin}, nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// Name returns the server's name.
func (c *Conn) Name() string { return c.server.Name }

// Tools returns the server's tools.
func (c *Conn) Tools() []Tool { return c.tools }

// Confined reports whether the server's program runs under Landlock
// (false for URL servers).
func (c *Conn) Confined() bool { return c.confined }

// Note says what the caller should know: why a program is not confined,
// tools left out.
func (c *Conn) Note() string { return c.note }

// Call calls tool with args (a JSON object) and returns the result's
// text; isErr reports a tool error (the server's own). err is a failure
// to reach the server.
func (c *Conn) Call(ctx context.Context, tool string, args json.RawMessage) (text string, isErr bool, err error) {
	if len(args) == 0 {
		args = json.RawMessage(`{}`)
	}
	res, err := c.cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return "", false, fmt.Errorf("%w: %s: %v%s", ErrServer, c.server.Name, err, c.stderrNote())
	}
	var b strings.Builder
	for _, ct := range res.Content {
		switch ct := ct.(type) {
		case *mcp.TextContent:
			b.WriteString(ct.Text)
		default:
			j, _ := json.Marshal(ct)
			b.Write(j)
		}
	}
	if res.StructuredContent != nil && b.Len() == 0 {
		j, _ := json.Marshal(res.StructuredContent)
		b.Write(j)
	}
	out := b.String()
	if len(out) > c.max {
		out = fmt.Sprintf("%s…[%d more bytes cut]", out[:c.max], len(out)-c.max)
	}
	return out, res.IsError, nil
}

// Close ends the session and stops the program (its stdin is closed; it
// is killed if it has not exited a second later).
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		if c.cs != nil {
			c.closeErr = c.cs.Close()
		}
		c.stop()
	})
	return c.closeErr
}

func (c *Conn) stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		done := make(chan struct{})
		go func() {
			_ = c.cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(time.Second):
			_ = c.cmd.Process.Kill()
			<-done
		}
	}
	if c.tmp != "" {
		_ = os.RemoveAll(c.tmp)
	}
}

func (c *Conn) stderrNote() string {
	if c.stderr == nil {
		return ""
	}
	if s := strings.TrimSpace(c.stderr.String()); s != "" {
		return "; its stderr: " + s
	}
	return ""
}

// tail keeps the last max bytes written.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
