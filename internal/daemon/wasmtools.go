package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/sandbox"
	"github.com/weftos/weftos/internal/toolpkg"
	"github.com/weftos/weftos/internal/tools"
)

// ToolsDir holds installed WASM tools in the home: one directory per tool
// with the module and its install record.
const ToolsDir = "tools"

// Errors of the WASM tool layer.
var (
	ErrUnknownTool = errors.New("no such installed tool")
	ErrToolExists  = errors.New("a tool with that name is installed")
)

// InstalledTool is an installed tool's record (install.json): everything a
// run needs, fixed at install time.
type InstalledTool struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Description string          `json:"description"`
	SHA256      string          `json:"sha256"`
	Limits      toolpkg.Limits  `json:"limits"`
	Hosts       []string        `json:"hosts,omitempty"`
	Env         []string        `json:"env,omitempty"`
	Mounts      []sandbox.Mount `json:"mounts,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
	Imports     []string        `json:"imports,omitempty"`
	Source      string          `json:"source"`
	Installed   time.Time       `json:"installed"`
	ActionID    string          `json:"action_id"`
}

// ToolRunResult is the outcome of running an installed tool.
type ToolRunResult struct {
	Output   json.RawMessage `json:"output"`
	FuelUsed int64           `json:"fuel_used"`
	Millis   int64           `json:"duration_ms"`
	Stderr   string          `json:"stderr,omitempty"`
}

// openSandbox starts the WASM runtime with an on-disk compilation cache in
// the home, so a second run (and the next boot) does not recompile.
func (d *Daemon) openSandbox(ctx context.Context) error {
	var err error
	d.sandbox, err = sandbox.New(ctx, sandbox.Config{CacheDir: filepath.Join(d.home, "cache", "wasm"), Logger: d.log.With("layer", "sandbox")})
	if err != nil {
		return fmt.Errorf("daemon: WASM sandbox: %w", err)
	}
	return nil
}

func (d *Daemon) toolDir(name string) (string, error) {
	if !validSessionName(name) {
		return "", fmt.Errorf("%w: tool name %q", kernel.ErrInvalid, name)
	}
	return filepath.Join(d.home, ToolsDir, name), nil
}

// installTool validates a package (directory or .tar.gz), asks governance
// (action tool.install with the requested grants), copies the module and
// its record into the home and records the install on the chain. Refused
// and failed installs are recorded too.
func (d *Daemon) installTool(ctx context.Context, path string) (InstalledTool, error) {
	actionID := d.kernel.NewActionID()
	rec := map[string]any{"action": "tool.install", "action_id": actionID, "agent": "operator", "source": path}
	record := func(err error) {
		if err != nil {
			rec["error"] = err.Error()
		}
		if rerr := d.recorder.Record(ctx, "tools", "tool.install", rec); rerr != nil {
			d.log.Error("recording a tool install failed", "err", rerr)
		}
	}
	extract, err := os.MkdirTemp(d.home, ".tool-extract-")
	if err != nil {
		return InstalledTool{}, err
	}
	defer os.RemoveAll(extract)
	pkg, err := toolpkg.Load(path, filepath.Join(extract, "pkg"), toolpkg.Options{Imports: d.sandbox.Offers})
	if err != nil {
		record(err)
		return InstalledTool{}, err
	}
	m := pkg.Manifest
	rec["tool"], rec["version"], rec["sha256"] = m.Name, m.Version, hex.EncodeToString(pkg.WasmSHA256[:])
	rec["hosts"], rec["env"] = m.Grants.Hosts, m.Grants.Env
	if _, builtin := d.builtins.Get(m.Name); builtin {
		err := fmt.Errorf("%w: %q is the name of a built-in tool", kernel.ErrInvalid, m.Name)
		record(err)
		return InstalledTool{}, err
	}
	dir, err := d.toolDir(m.Name)
	if err != nil {
		record(err)
		return InstalledTool{}, err
	}
	if _, err := os.Stat(dir); err == nil {
		err = fmt.Errorf("%w: %s (remove it first: weft tools remove %s)", ErrToolExists, m.Name, m.Name)
		record(err)
		return InstalledTool{}, err
	}
	var mounts []string
	for _, mt := range pkg.Mounts() {
		mode := "rw"
		if mt.ReadOnly {
			mode = "ro"
		}
		mounts = append(mounts, mt.HostPath+"→"+mt.GuestPath+":"+mode)
	}
	rec["mounts"] = mounts
	req := governance.Request{Action: "tool.install", Process: "kernel", Agent: "operator",
		Capabilities: kernel.RootCapabilities().Names(),
		Context: governance.Context{Tool: m.Name, Extra: map[string]string{"version": m.Version,
			"hosts": strings.Join(m.Grants.Hosts, ","), "mounts": strings.Join(mounts, ","), "env": strings.Join(m.Grants.Env, ",")}}}
	if err := d.gov.decide(ctx, actionID, req); err != nil {
		record(err)
		return InstalledTool{}, err
	}
	// Compile now: a module wazero rejects fails the install, not a run.
	if _, err := d.sandbox.Compile(ctx, pkg.Wasm); err != nil {
		record(err)
		return InstalledTool{}, err
	}
	it := InstalledTool{Name: m.Name, Version: m.Version, Description: m.Description, SHA256: hex.EncodeToString(pkg.WasmSHA256[:]),
		Limits: m.Limits, Hosts: m.Grants.Hosts, Env: m.Grants.Env, InputSchema: pkg.InputSchema, Source: path,
		Installed: d.opts.Clock.Now().UTC(), ActionID: actionID}
	for _, mt := range pkg.Mounts() {
		it.Mounts = append(it.Mounts, sandbox.Mount{HostPath: mt.HostPath, GuestPath: mt.GuestPath, ReadOnly: mt.ReadOnly})
	}
	for _, im := range pkg.Module.Imports {
		it.Imports = append(it.Imports, im.Module+"."+im.Name)
	}
	if err := d.writeTool(dir, it, pkg.Wasm); err != nil {
		record(err)
		return InstalledTool{}, err
	}
	record(nil)
	return it, nil
}

// writeTool writes the tool's files into a temporary directory and renames
// it into place, so a crash never leaves half a tool.
func (d *Daemon) writeTool(dir string, it InstalledTool, wasm []byte) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+it.Name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b, _ := json.MarshalIndent(it, "", "  ")
	if err := writeFileAtomic(filepath.Join(tmp, "tool.wasm"), wasm); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(tmp, "install.json"), append(b, '\n')); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// toolRecord reads an installed tool's record (not its module).
func (d *Daemon) toolRecord(name string) (InstalledTool, error) {
	dir, err := d.toolDir(name)
	if err != nil {
		return InstalledTool{}, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "install.json"))
	if errors.Is(err, os.ErrNotExist) {
		return InstalledTool{}, fmt.Errorf("%w: %q", ErrUnknownTool, name)
	}
	if err != nil {
		return InstalledTool{}, err
	}
	var it InstalledTool
	if err := json.Unmarshal(b, &it); err != nil {
		return InstalledTool{}, fmt.Errorf("tool %s: install record is corrupt: %w", name, err)
	}
	return it, nil
}

// loadTool reads an installed tool and its module, checking the module's
// hash against the install record.
func (d *Daemon) loadTool(name string) (InstalledTool, []byte, error) {
	it, err := d.toolRecord(name)
	if err != nil {
		return InstalledTool{}, nil, err
	}
	dir, _ := d.toolDir(name)
	wasm, err := os.ReadFile(filepath.Join(dir, "tool.wasm"))
	if err != nil {
		return InstalledTool{}, nil, err
	}
	if sum := sha256.Sum256(wasm); hex.EncodeToString(sum[:]) != it.SHA256 {
		return InstalledTool{}, nil, fmt.Errorf("tool %s: tool.wasm does not match its install record (modified on disk?)", name)
	}
	return it, wasm, nil
}

// listTools returns the installed tools by name.
func (d *Daemon) listTools() ([]InstalledTool, error) {
	entries, err := os.ReadDir(filepath.Join(d.home, ToolsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []InstalledTool
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		it, err := d.toolRecord(e.Name())
		if err != nil {
			d.log.Warn("skipping an unreadable tool", "tool", e.Name(), "err", err)
			continue
		}
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (d *Daemon) removeTool(ctx context.Context, name string) error {
	dir, err := d.toolDir(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "install.json")); err != nil {
		return fmt.Errorf("%w: %q", ErrUnknownTool, name)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return d.recorder.Record(ctx, "tools", "tool.remove", map[string]string{"tool": name})
}

// runTool runs an installed tool for p (nil: the operator): capability
// check, governance (action tool.exec.NAME), the sandboxed run with the
// manifest's limits capped by p's, and a tool.call record on the chain with
// the fuel used.
func (d *Daemon) runTool(ctx context.Context, p *kernel.Process, name string, input json.RawMessage) (ToolRunResult, error) {
	it, wasm, err := d.loadTool(name)
	if err != nil {
		return ToolRunResult{}, err
	}
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	schema, err := tools.ParseSchema(it.InputSchema)
	if err != nil {
		return ToolRunResult{}, fmt.Errorf("tool %s: input schema: %w", name, err)
	}
	if err := schema.Validate(input); err != nil {
		return ToolRunResult{}, fmt.Errorf("%w: tool %s: %v", kernel.ErrInvalid, name, err)
	}
	agentName, pid := "operator", kernel.KernelPID
	caps := kernel.RootCapabilities()
	if p != nil {
		agentName, pid, caps = p.Name(), p.PID(), p.Capabilities()
		if err := p.ChargeToolCall(name); err != nil {
			return ToolRunResult{}, err
		}
	}
	memMiB := it.Limits.MemoryMiB
	if lim := caps.Limits.MemoryBytes >> 20; lim > 0 && uint64(memMiB) > lim {
		return ToolRunResult{}, fmt.Errorf("%w: tool %s needs %d MiB of memory; the process may use %d MiB", kernel.ErrCapability, name, memMiB, lim)
	}
	if len(it.Hosts) > 0 && !caps.CanNetwork {
		return ToolRunResult{}, fmt.Errorf("%w: tool %s needs network access (hosts %v); the process lacks can_network", kernel.ErrCapability, name, it.Hosts)
	}
	actionID := d.kernel.NewActionID()
	req := governance.Request{Action: "tool.exec." + name, Process: agentName, Agent: agentName, PID: uint64(pid), Capabilities: caps.Names(),
		Context: governance.Context{Tool: name, Extra: map[string]string{"version": it.Version, "sha256": it.SHA256, "hosts": strings.Join(it.Hosts, ",")}}}
	if err := d.gov.decide(ctx, actionID, req); err != nil {
		return ToolRunResult{}, err
	}
	rec := toolCallRecord{Action: req.Action, ActionID: actionID, Agent: agentName, PID: pid, Tool: name, InputHash: shake(input)}
	res, err := d.execTool(ctx, it, wasm, input, toolHost{d: d, agent: agentName, pid: pid, tool: name, caps: caps, hosts: it.Hosts})
	rec.Millis, rec.Fuel = res.Millis, res.FuelUsed
	if err != nil {
		rec.IsError, rec.Error = true, err.Error()
	} else {
		rec.OutputHash = shake(res.Output)
	}
	if rerr := d.recorder.Record(ctx, "tools", "tool.call", rec); rerr != nil {
		return res, fmt.Errorf("recording the tool call: %w", rerr)
	}
	return res, err
}

func (d *Daemon) execTool(ctx context.Context, it InstalledTool, wasm, input []byte, host sandbox.Host) (ToolRunResult, error) {
	mod, err := d.sandbox.Compile(ctx, wasm)
	if err != nil {
		return ToolRunResult{}, err
	}
	env := map[string]string{}
	for _, k := range it.Env {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	r, err := d.sandbox.Run(ctx, mod, sandbox.RunSpec{Input: input, Env: env, Fuel: it.Limits.Fuel, MemoryMiB: it.Limits.MemoryMiB,
		Timeout: time.Duration(it.Limits.TimeoutMS) * time.Millisecond, Mounts: it.Mounts, AllowedHosts: it.Hosts}, host)
	out := ToolRunResult{FuelUsed: r.FuelUsed, Millis: r.Duration.Milliseconds(), Stderr: string(r.Stderr)}
	if err != nil {
		return out, err
	}
	trimmed := bytes.TrimSpace(r.Stdout)
	if !json.Valid(trimmed) {
		return out, fmt.Errorf("tool %s wrote output that is not JSON (%d bytes)", it.Name, len(r.Stdout))
	}
	out.Output = trimmed
	return out, nil
}

// toolHost serves a tool's log and http_fetch calls: each fetch is checked
// against the tool's granted hosts, decided by governance (net.egress),
// made through the guarded client (no private addresses) and recorded.
type toolHost struct {
	d     *Daemon
	agent string
	pid   kernel.PID
	tool  string
	caps  kernel.Capabilities
	hosts []string
}

var _ sandbox.Host = toolHost{}

func (h toolHost) Log(ctx context.Context, level slog.Level, msg string) {
	h.d.log.Log(ctx, level, "tool log", "tool", h.tool, "agent", h.agent, "msg", msg)
}

func (h toolHost) Fetch(ctx context.Context, fr sandbox.FetchRequest) (sandbox.FetchResponse, error) {
	u, err := url.Parse(fr.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return sandbox.FetchResponse{}, fmt.Errorf("%w: %q is not an http(s) URL", sandbox.ErrFetchDenied, fr.URL)
	}
	actionID := h.d.kernel.NewActionID()
	req := governance.Request{Action: "net.egress", Process: h.agent, Agent: h.agent, PID: uint64(h.pid), Capabilities: h.caps.Names(),
		Context: governance.Context{Host: u.Hostname(), Tool: h.tool, Extra: map[string]string{"method": fr.Method}}}
	rec := map[string]any{"action": "net.egress", "action_id": actionID, "agent": h.agent, "pid": h.pid, "tool": h.tool, "host": u.Hostname(), "method": fr.Method}
	defer func() { _ = h.d.recorder.Record(ctx, "tools", "tool.fetch", rec) }()
	if err := h.d.gov.decide(ctx, actionID, req); err != nil {
		rec["error"] = err.Error()
		return sandbox.FetchResponse{}, fmt.Errorf("%w: %v", sandbox.ErrFetchDenied, err)
	}
	client, closeIdle := tools.GuardedClient("http_fetch", tools.NetworkPolicy{Enabled: true, AllowHosts: hostNames(h.hosts), Timeout: 30 * time.Second})
	defer closeIdle()
	method := fr.Method
	if method == "" {
		method = http.MethodGet
	}
	hreq, err := http.NewRequestWithContext(ctx, method, fr.URL, strings.NewReader(fr.Body))
	if err != nil {
		rec["error"] = err.Error()
		return sandbox.FetchResponse{}, err
	}
	for k, v := range fr.Headers {
		hreq.Header.Set(k, v)
	}
	resp, err := client.Do(hreq)
	if err != nil {
		rec["error"] = err.Error()
		return sandbox.FetchResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		rec["error"] = err.Error()
		return sandbox.FetchResponse{}, err
	}
	rec["status"] = resp.StatusCode
	out := sandbox.FetchResponse{Status: resp.StatusCode, Body: string(body), Headers: map[string]string{}}
	for k := range resp.Header {
		out.Headers[k] = resp.Header.Get(k)
	}
	return out, nil
}

// hostNames strips ports from "host:port" grants for the client's
// allow-list (the sandbox has already enforced the port).
func hostNames(grants []string) []string {
	out := make([]string, 0, len(grants))
	for _, g := range grants {
		if h, _, ok := strings.Cut(g, ":"); ok {
			g = h
		}
		out = append(out, g)
	}
	return out
}
