//go:build !nosandbox

package toolhost

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha3"
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

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/governance"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/kernelauth"
	"github.com/weftos/weftos/internal/nodemetrics"
	"github.com/weftos/weftos/internal/sandbox"
	"github.com/weftos/weftos/internal/session"
	"github.com/weftos/weftos/internal/toolpkg"
	"github.com/weftos/weftos/internal/tools"
)

// Host installs, lists, removes and runs the node's WASM tools.
type Host struct {
	home     string
	auth     *authority.Pipeline
	chain    Chain
	chainErr func() error
	builtins Builtins
	metrics  Metrics
	clock    clock.Clock
	log      *slog.Logger
	sandbox  *sandbox.Runtime
}

// New starts the WASM runtime with an on-disk compilation cache in the
// home, so a second run (and the next boot) does not recompile. Close
// stops it.
func New(ctx context.Context, opts Options) (*Host, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Builtins == nil {
		opts.Builtins = tools.Default()
	}
	if opts.ChainErr == nil {
		opts.ChainErr = func() error { return errors.New("the audit chain is not open") }
	}
	rt, err := sandbox.New(ctx, sandbox.Config{CacheDir: filepath.Join(opts.Home, "cache", "wasm"), Logger: opts.Logger.With("layer", "sandbox")})
	if err != nil {
		return nil, fmt.Errorf("toolhost: WASM sandbox: %w", err)
	}
	return &Host{home: opts.Home, auth: opts.Auth, chain: opts.Chain, chainErr: opts.ChainErr, builtins: opts.Builtins,
		metrics: opts.Metrics, clock: opts.Clock, log: opts.Logger, sandbox: rt}, nil
}

// Close stops the WASM runtime.
func (h *Host) Close(ctx context.Context) error { return h.sandbox.Close(ctx) }

// grants is what an installed tool's record grants and limits: the part
// the chain's tool.install record binds.
func grants(it InstalledTool) []string {
	var out []string
	for _, h := range it.Hosts {
		out = append(out, "host:"+h)
	}
	for _, m := range it.Mounts {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		out = append(out, "mount:"+m.HostPath+"→"+m.GuestPath+":"+mode)
	}
	for _, e := range it.Env {
		out = append(out, "env:"+e)
	}
	return out
}

// grantsHash is SHAKE-256/32 over the canonical JSON of everything the
// record fixes for a run: name, version, module hash, limits, grants,
// input schema and imports.
func grantsHash(it InstalledTool) string {
	b, _ := json.Marshal(struct {
		Name        string              `json:"name"`
		Version     string              `json:"version"`
		SHA256      string              `json:"sha256"`
		Limits      toolpkg.Limits      `json:"limits"`
		Hosts       []string            `json:"hosts"`
		Env         []string            `json:"env"`
		Mounts      []apitype.ToolMount `json:"mounts"`
		InputSchema json.RawMessage     `json:"input_schema"`
		Imports     []string            `json:"imports"`
	}{it.Name, it.Version, it.SHA256, it.Limits, nonNil(it.Hosts), nonNil(it.Env), nonNil(it.Mounts), compactJSON(it.InputSchema), nonNil(it.Imports)})
	return shake(b)
}

// nonNil makes a nil slice empty, so a record hashes the same before and
// after a JSON round trip through omitempty fields.
// sandboxMounts are an install record's mounts as the sandbox takes them.
func sandboxMounts(ms []apitype.ToolMount) []sandbox.Mount {
	out := make([]sandbox.Mount, len(ms))
	for i, m := range ms {
		out[i] = sandbox.Mount{HostPath: m.HostPath, GuestPath: m.GuestPath, ReadOnly: m.ReadOnly}
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func compactJSON(b json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

func (h *Host) toolDir(name string) (string, error) {
	if !session.ValidName(name) {
		return "", fmt.Errorf("%w: tool name %q", kernel.ErrInvalid, name)
	}
	return filepath.Join(h.home, Dir, name), nil
}

// Install validates a package (directory or .tar.gz), asks governance
// (action tool.install with the requested grants), compiles the module,
// records the install durably — with the hash of the install record, which
// binds every grant — and then copies the module and the record into the
// home. Refused installs are recorded as refusals or denials.
func (h *Host) Install(ctx context.Context, path string) (InstalledTool, error) {
	act := authority.Act{Action: "tool.install", Kind: governance.KindToolInstall, Source: "tools", Subject: kernelauth.Operator(),
		Context: governance.Context{Extra: map[string]string{"source": path}}}
	refuse := func(cause error) (InstalledTool, error) {
		if err := h.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
			return InstalledTool{}, err
		}
		return InstalledTool{}, cause
	}
	extract, err := os.MkdirTemp(h.home, ".tool-extract-")
	if err != nil {
		return InstalledTool{}, err
	}
	defer os.RemoveAll(extract)
	pkg, err := toolpkg.Load(path, filepath.Join(extract, "pkg"), toolpkg.Options{Imports: h.sandbox.Offers})
	if err != nil {
		return refuse(fmt.Errorf("%w: %w", authority.ErrInput, err))
	}
	m := pkg.Manifest
	act.Context.Tool = m.Name
	if h.builtins.Has(m.Name) {
		return refuse(fmt.Errorf("%w: %w: %q is the name of a built-in tool", authority.ErrInput, kernel.ErrInvalid, m.Name))
	}
	dir, err := h.toolDir(m.Name)
	if err != nil {
		return refuse(fmt.Errorf("%w: %w", authority.ErrInput, err))
	}
	if _, err := os.Stat(dir); err == nil {
		return refuse(fmt.Errorf("%w: %w: %s (remove it first: weft tools remove %s)", authority.ErrConflict, ErrToolExists, m.Name, m.Name))
	}
	it := InstalledTool{Name: m.Name, Version: m.Version, Description: m.Description, SHA256: hex.EncodeToString(pkg.WasmSHA256[:]),
		Limits: m.Limits, Hosts: m.Grants.Hosts, Env: m.Grants.Env, InputSchema: pkg.InputSchema, Source: path,
		Installed: h.clock.Now().UTC()}
	for _, mt := range pkg.Mounts() {
		it.Mounts = append(it.Mounts, apitype.ToolMount{HostPath: mt.HostPath, GuestPath: mt.GuestPath, ReadOnly: mt.ReadOnly})
	}
	for _, im := range pkg.Module.Imports {
		it.Imports = append(it.Imports, im.Module+"."+im.Name)
	}
	act.Context.Extra = map[string]string{"source": path, "version": m.Version, "sha256": it.SHA256,
		"hosts": strings.Join(m.Grants.Hosts, ","), "mounts": strings.Join(grantsOf(it, "mount:"), ","), "env": strings.Join(m.Grants.Env, ",")}
	pm, err := h.auth.Authorize(ctx, act)
	if err != nil {
		return InstalledTool{}, err
	}
	it.ActionID = pm.ActionID()
	detail := governance.ToolInstallDetail{Tool: it.Name, Version: it.Version, SHA256: it.SHA256, Source: path, Grants: grants(it), RecordHash: grantsHash(it)}
	// Compile now: a module wazero rejects fails the install, not a run.
	if _, err := h.sandbox.Compile(ctx, pkg.Wasm); err != nil {
		return InstalledTool{}, errors.Join(err, pm.Done(ctx, detail, err))
	}
	// The install is on the chain before the tool exists on disk.
	if err := pm.Done(ctx, detail, nil); err != nil {
		return InstalledTool{}, err
	}
	it.InstallSeq = pm.OutcomeSeq()
	if err := h.writeTool(dir, it, pkg.Wasm); err != nil {
		return InstalledTool{}, fmt.Errorf("tool %s: recorded as installed (seq %d) but not written: %w", it.Name, it.InstallSeq, err)
	}
	return it, nil
}

func grantsOf(it InstalledTool, prefix string) []string {
	var out []string
	for _, g := range grants(it) {
		if v, ok := strings.CutPrefix(g, prefix); ok {
			out = append(out, v)
		}
	}
	return out
}

// writeTool writes the tool's files into a temporary directory and renames
// it into place, so a crash never leaves half a tool.
func (h *Host) writeTool(dir string, it InstalledTool, wasm []byte) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+it.Name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b, _ := json.MarshalIndent(it, "", "  ")
	if err := durable.WriteFile(filepath.Join(tmp, "tool.wasm"), wasm); err != nil {
		return err
	}
	if err := durable.WriteFile(filepath.Join(tmp, "install.json"), append(b, '\n')); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// Record reads an installed tool's record (not its module): whether a
// tool of that name is installed.
func (h *Host) Record(name string) (InstalledTool, error) {
	dir, err := h.toolDir(name)
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

// Load reads an installed tool and its module and checks both against
// the chain: the module's hash and every grant and limit of the record
// must be those the governed install recorded (tool.install at
// InstallSeq). A record edited on disk — a mount widened to "/", a host
// added — is refused.
func (h *Host) Load(name string) (InstalledTool, []byte, error) {
	it, err := h.Record(name)
	if err != nil {
		return InstalledTool{}, nil, err
	}
	if err := h.verifyInstall(it); err != nil {
		return InstalledTool{}, nil, err
	}
	dir, _ := h.toolDir(name)
	wasm, err := os.ReadFile(filepath.Join(dir, "tool.wasm"))
	if err != nil {
		return InstalledTool{}, nil, err
	}
	if sum := sha256.Sum256(wasm); hex.EncodeToString(sum[:]) != it.SHA256 {
		return InstalledTool{}, nil, fmt.Errorf("%w: tool %s: tool.wasm was modified on disk", ErrToolTampered, name)
	}
	return it, wasm, nil
}

// verifyInstall checks it against the tool.install record at InstallSeq.
func (h *Host) verifyInstall(it InstalledTool) error {
	if h.chain == nil {
		return fmt.Errorf("%w: tool %s: %w", ErrToolTampered, it.Name, h.chainErr())
	}
	if it.InstallSeq == 0 {
		return fmt.Errorf("%w: tool %s was installed before install records were bound to the chain: reinstall it (weft tools remove %s && weft tools install %s)",
			ErrToolTampered, it.Name, it.Name, it.Source)
	}
	ev, err := h.chain.Get(it.InstallSeq)
	if err != nil {
		return fmt.Errorf("%w: tool %s: install record seq %d: %v", ErrToolTampered, it.Name, it.InstallSeq, err)
	}
	var rec governance.ActRecord
	var det governance.ToolInstallDetail
	if ev.Kind != governance.KindToolInstall || json.Unmarshal(ev.Payload, &rec) != nil || json.Unmarshal(rec.Detail, &det) != nil ||
		!rec.OK || det.Tool != it.Name {
		return fmt.Errorf("%w: tool %s: chain event %d is not its install", ErrToolTampered, it.Name, it.InstallSeq)
	}
	if det.RecordHash != grantsHash(it) || det.SHA256 != it.SHA256 {
		return fmt.Errorf("%w: tool %s: install.json was modified on disk (its grants or limits differ from those installed at seq %d)",
			ErrToolTampered, it.Name, it.InstallSeq)
	}
	return nil
}

// List returns the installed tools by name.
func (h *Host) List() ([]InstalledTool, error) {
	entries, err := os.ReadDir(filepath.Join(h.home, Dir))
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
		it, err := h.Record(e.Name())
		if err != nil {
			h.log.Warn("skipping an unreadable tool", "tool", e.Name(), "err", err)
			continue
		}
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Remove removes an installed tool, as a governed act (tool.remove).
func (h *Host) Remove(ctx context.Context, name string) error {
	act := authority.Act{Action: "tool.remove", Kind: governance.KindToolRemove, Source: "tools", Subject: kernelauth.Operator(),
		Context: governance.Context{Tool: name}}
	dir, err := h.toolDir(name)
	if err != nil {
		return h.auth.Refuse(ctx, act, fmt.Errorf("%w: %w", authority.ErrInput, err))
	}
	it, err := h.Record(name)
	if err != nil {
		if rerr := h.auth.Refuse(ctx, act, fmt.Errorf("%w: %w", authority.ErrConflict, err)); errors.Is(rerr, authority.ErrLedger) {
			return rerr
		}
		return err
	}
	act.Context.Extra = map[string]string{"version": it.Version, "sha256": it.SHA256}
	return h.auth.Do(ctx, act, func(ctx context.Context, _ *authority.Permit) (any, error) {
		return governance.ToolInstallDetail{Tool: name, Version: it.Version, SHA256: it.SHA256}, os.RemoveAll(dir)
	})
}

// Run runs an installed tool through the authority pipeline: the
// record checked against the chain, input validated, capabilities and
// limits checked (the call charged to the process), governance (action
// tool.exec.NAME), the sandboxed run with the manifest's limits, and a
// tool.call record naming the grants used and the fuel burnt.
func (h *Host) Run(ctx context.Context, by Caller, name string, input json.RawMessage) (_ RunResult, err error) {
	if by.Proc == nil && h.metrics != nil { // the operator's run; an agent's call is counted by its tool runner
		t0 := time.Now()
		defer func() { h.metrics.ToolCall(name, nodemetrics.Classify(err), time.Since(t0)) }()
	}
	subject := kernelauth.Operator()
	caps := kernel.RootCapabilities()
	if by.Proc != nil {
		subject, caps = kernelauth.SubjectOf(by.Proc, by.Session), by.Proc.Capabilities()
	}
	act := authority.Act{Action: "tool.exec." + name, Kind: governance.KindToolCall, Source: "tools", Subject: subject,
		Context: governance.Context{Tool: name}, Carry: by.Carry}
	if len(input) == 0 {
		input = json.RawMessage("{}")
	}
	refuse := func(cause error) (RunResult, error) {
		if err := h.auth.Refuse(ctx, act, cause); errors.Is(err, authority.ErrLedger) {
			return RunResult{}, err
		}
		return RunResult{}, cause
	}
	it, wasm, err := h.Load(name)
	if errors.Is(err, ErrUnknownTool) {
		return refuse(fmt.Errorf("%w: %w", authority.ErrInput, err))
	}
	if err != nil {
		return refuse(fmt.Errorf("%w: %w", authority.ErrConflict, err))
	}
	schema, err := tools.ParseSchema(it.InputSchema)
	if err != nil {
		return refuse(fmt.Errorf("%w: tool %s: input schema: %w", authority.ErrInput, name, err))
	}
	if err := schema.Validate(input); err != nil {
		return refuse(fmt.Errorf("%w: %w: tool %s: %v", authority.ErrInput, kernel.ErrInvalid, name, err))
	}
	act.Context.Extra = map[string]string{"version": it.Version, "sha256": it.SHA256, "hosts": strings.Join(it.Hosts, ","),
		"grants": strings.Join(grants(it), ",")}
	act.Checks = []authority.Check{
		func() error {
			if by.Proc == nil {
				return nil
			}
			return kernelauth.KernelErr(by.Proc.ChargeToolCall(name))
		},
		func() error {
			if lim := caps.Limits.MemoryBytes >> 20; lim > 0 && uint64(it.Limits.MemoryMiB) > lim {
				return fmt.Errorf("%w: %w: tool %s needs %d MiB of memory; the process may use %d MiB", authority.ErrCapability, kernel.ErrCapability,
					name, it.Limits.MemoryMiB, lim)
			}
			return nil
		},
		func() error {
			if len(it.Hosts) > 0 && !caps.CanNetwork {
				return fmt.Errorf("%w: %w: tool %s needs network access (hosts %v); the process lacks can_network", authority.ErrCapability,
					kernel.ErrCapability, name, it.Hosts)
			}
			return nil
		},
	}
	pm, err := h.auth.Authorize(ctx, act)
	if err != nil {
		return RunResult{}, kernelauth.AsKernel(err)
	}
	seq := it.InstallSeq
	detail := governance.ToolCallDetail{Tool: name, CallID: by.CallID, InputHash: shake(input), Version: it.Version, SHA256: it.SHA256,
		Grants: grants(it), InstallSeq: &seq}
	res, err := h.exec(ctx, it, wasm, input, guestHost{h: h, subject: subject, tool: name, caps: caps, hosts: it.Hosts})
	detail.Fuel = res.FuelUsed
	if err == nil {
		detail.OutputHash, detail.OutputLen = shake(res.Output), len(res.Output)
	}
	if rerr := pm.Done(ctx, detail, err); rerr != nil {
		return res, errors.Join(err, fmt.Errorf("recording the tool call: %w", rerr))
	}
	return res, err
}

func (h *Host) exec(ctx context.Context, it InstalledTool, wasm, input []byte, host sandbox.Host) (RunResult, error) {
	mod, err := h.sandbox.Compile(ctx, wasm)
	if err != nil {
		return RunResult{}, err
	}
	env := map[string]string{}
	for _, k := range it.Env {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	r, err := h.sandbox.Run(ctx, mod, sandbox.RunSpec{Input: input, Env: env, Fuel: it.Limits.Fuel, MemoryMiB: it.Limits.MemoryMiB,
		Timeout: time.Duration(it.Limits.TimeoutMS) * time.Millisecond, Mounts: sandboxMounts(it.Mounts), AllowedHosts: it.Hosts}, host)
	out := RunResult{FuelUsed: r.FuelUsed, Millis: r.Duration.Milliseconds(), Stderr: string(r.Stderr)}
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

// guestHost serves a tool's log and http_fetch calls: each fetch is checked
// against the tool's granted hosts and goes through the authority pipeline
// as net.egress (decided, recorded), made through the guarded client (no
// private addresses).
type guestHost struct {
	h       *Host
	subject authority.Subject
	tool    string
	caps    kernel.Capabilities
	hosts   []string
}

var _ sandbox.Host = guestHost{}

func (h guestHost) Log(ctx context.Context, level slog.Level, msg string) {
	h.h.log.Log(ctx, level, "tool log", "tool", h.tool, "agent", h.subject.Agent, "msg", msg)
}

func (h guestHost) Fetch(ctx context.Context, fr sandbox.FetchRequest) (sandbox.FetchResponse, error) {
	act := authority.Act{Action: "net.egress", Kind: governance.KindNetEgress, Source: "tools", Subject: h.subject,
		Context: governance.Context{Tool: h.tool, Extra: map[string]string{"method": fr.Method}}}
	u, err := url.Parse(fr.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		cause := fmt.Errorf("%w: %w: %q is not an http(s) URL", authority.ErrInput, sandbox.ErrFetchDenied, fr.URL)
		return sandbox.FetchResponse{}, errors.Join(cause, ignoreRefusal(h.h.auth.Refuse(ctx, act, cause)))
	}
	act.Context.Host = u.Hostname()
	act.Checks = []authority.Check{func() error {
		if !h.caps.CanNetwork {
			return fmt.Errorf("%w: tool %s: the process lacks can_network", authority.ErrCapability, h.tool)
		}
		return nil
	}}
	var out sandbox.FetchResponse
	err = h.h.auth.Do(ctx, act, func(ctx context.Context, _ *authority.Permit) (any, error) {
		det := governance.NetEgressDetail{Tool: h.tool, Host: u.Hostname(), Method: fr.Method}
		var err error
		out, err = h.fetch(ctx, fr)
		det.Status, det.Bytes = out.Status, len(out.Body)
		return det, err
	})
	if errors.Is(err, authority.ErrRefused) {
		return sandbox.FetchResponse{}, fmt.Errorf("%w: %v", sandbox.ErrFetchDenied, err)
	}
	return out, err
}

// ignoreRefusal keeps only a ledger failure from Refuse's result (the
// refusal itself is already the caller's error).
func ignoreRefusal(err error) error {
	if errors.Is(err, authority.ErrLedger) {
		return err
	}
	return nil
}

func (h guestHost) fetch(ctx context.Context, fr sandbox.FetchRequest) (sandbox.FetchResponse, error) {
	client, closeIdle := tools.GuardedClient("http_fetch", tools.NetworkPolicy{Enabled: true, AllowHosts: hostNames(h.hosts), Timeout: 30 * time.Second})
	defer closeIdle()
	method := fr.Method
	if method == "" {
		method = http.MethodGet
	}
	hreq, err := http.NewRequestWithContext(ctx, method, fr.URL, strings.NewReader(fr.Body))
	if err != nil {
		return sandbox.FetchResponse{}, err
	}
	for k, v := range fr.Headers {
		hreq.Header.Set(k, v)
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return sandbox.FetchResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return sandbox.FetchResponse{}, err
	}
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

func shake(b []byte) string { return hex.EncodeToString(sha3.SumSHAKE256(b, 32)) }
