// Package daemon is WeftOS's composition root: it alone wires the kernel to
// the outer layers (configuration, identity, audit chain, governance, local
// API, metrics) and owns the node's lifecycle: Open boots a node on a home
// directory, Close shuts it down cleanly.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	http "github.com/weftos/weftos/internal/localhttp"
	"github.com/weftos/weftos/internal/xreflink"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/apphost"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/causal"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/config"
	"github.com/weftos/weftos/internal/durable"
	"github.com/weftos/weftos/internal/filelock"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/identity"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/logfile"
	"github.com/weftos/weftos/internal/metrics"
	"github.com/weftos/weftos/internal/nodemetrics"
	"github.com/weftos/weftos/internal/toolhost"
	"github.com/weftos/weftos/internal/xref"
)

// File names in the home directory.
const (
	LockName   = homedir.Lock
	PIDName    = homedir.PID
	LogName    = homedir.Log
	CronName   = homedir.Cron
	PIDSeqName = homedir.PIDSeq
)

// ErrAlreadyRunning means another daemon holds the home's lock.
var ErrAlreadyRunning = errors.New("daemon: another weave daemon is running on this home")

// Options configure Open.
type Options struct {
	// Home is the node's home directory; it is created (mode 0700) if
	// missing.
	Home    string
	Version string
	// LogFormat and LogLevel override the configuration file when set.
	LogFormat string
	LogLevel  string
	// The log always goes to HOME/weave.log (rotated, see [log] in
	// weftos.toml). LogOutput also receives it (default os.Stderr; io.Discard
	// for nothing else); Logger, when set, receives it instead of LogOutput.
	LogOutput io.Writer
	Logger    *slog.Logger
	Clock     clock.Clock
	// SetRuntime applies [kernel] procs, gc_percent and memory_limit_mib
	// to the process (GOMAXPROCS, GOGC, GOMEMLIMIT) until Close: `weave
	// boot` sets it; tests that share a process do not.
	SetRuntime bool
}

// Daemon is a running node.
type Daemon struct {
	opts    Options
	home    string
	cfg     config.Config
	cfgPath string
	log     *slog.Logger
	id      *identity.Identity
	kernel  *kernel.Kernel
	metrics *metrics.Registry
	ops     *nodemetrics.Metrics // model, tool, chain and memory instruments
	logFile *logfile.File        // HOME/weave.log
	started time.Time

	lock           *os.File
	restoreRuntime func() // undoes Options.SetRuntime
	api            *http.Server
	apiHandler     *localapi.Handler
	metricSrv      *http.Server
	wg             sync.WaitGroup

	cronMu sync.Mutex

	chain        *chain.Log // nil when the chain was found corrupt at boot (dev)
	chainProblem error      // why the chain is not open
	recorder     *chain.Recorder
	unsubscribe  func()
	gov          *gov
	auth         *authority.Pipeline
	bgCtx        context.Context // ends at Close: background work the daemon owns
	bgCancel     context.CancelFunc
	bgWG         sync.WaitGroup
	toolhost     *toolhost.Host // installed WASM tools (internal/toolhost)
	apps         *apphost.Host  // installed apps (internal/apphost)
	memory       *memoryStore   // semantic memory (memory.go; nil with nomemory)
	gw           gatewayParts
	ui           uiParts
	llmParts     // model providers, agents, sessions, MCP tool sessions (llm.go; empty with nollm)
	meshParts    // the cluster, cross-node IPC, replicated state, witnesses (cluster.go; empty with nomesh)

	chainKick        chan struct{} // a group commit happened (chainFanout)
	xref             *xref.Index   // cross-references (HOME/xref.log), nil without a chain
	xrefLinker       *xreflink.Linker
	xrefMu           sync.Mutex    // one indexing round at a time
	xrefEvents       []chain.Event // an indexing round's events (under xrefMu)
	graph            *causal.Store // the causal graph (HOME/graph.log), nil without a chain
	graphSyncMu      sync.Mutex    // the ECC tick and analyze requests both sync the graph
	graphSynced      time.Time
	graphSyncedEdges int
	ecc              *eccEngine // impulse queue and cognitive tick

	shutdownOnce sync.Once
	shutdownCh   chan struct{}
	closing      chan struct{} // closed when the API starts shutting down: streams end
	closeOnce    sync.Once
	closeErr     error
}

// Open boots a node on opts.Home and starts serving the local API. The
// returned daemon runs until Close; Done is closed when a client asks it to
// shut down.
func Open(ctx context.Context, opts Options) (_ *Daemon, err error) {
	if opts.Home == "" {
		return nil, errors.New("daemon: no home directory")
	}
	if !localapi.Supported {
		return nil, fmt.Errorf("daemon: %w", localapi.ErrUnsupported)
	}
	home, err := filepath.Abs(opts.Home)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("daemon: creating home: %w", err)
	}
	loosened, err := secureHome(home)
	if err != nil {
		return nil, err
	}
	d := &Daemon{opts: opts, home: home, shutdownCh: make(chan struct{}), closing: make(chan struct{}), started: opts.Clock.Now(),
		ops: nodemetrics.New(), chainKick: make(chan struct{}, 1)}
	d.bgCtx, d.bgCancel = context.WithCancel(context.Background())
	d.lock, err = filelock.Lock(filepath.Join(home, LockName))
	if errors.Is(err, filelock.ErrLocked) {
		who := ""
		if b, rerr := os.ReadFile(filepath.Join(home, PIDName)); rerr == nil {
			who = " (pid " + strings.TrimSpace(string(b)) + ")"
		}
		return nil, fmt.Errorf("%w%s: %s", ErrAlreadyRunning, who, home)
	}
	if err != nil {
		return nil, fmt.Errorf("daemon: locking home: %w", err)
	}
	defer func() {
		if err != nil {
			_ = d.Close(context.Background())
		}
	}()
	if d.cfg, d.cfgPath, err = config.Load(home); err != nil {
		return nil, err
	}
	if d.log, err = d.newLogger(); err != nil {
		return nil, err
	}
	if opts.SetRuntime {
		n, restoreProcs := setProcs(d.cfg.Kernel, os.Getenv)
		gc, limit, restoreGC := setGC(d.cfg.Kernel, os.Getenv)
		d.restoreRuntime = func() { restoreGC(); restoreProcs() }
		d.log.Debug("runtime", "gomaxprocs", n, "gc_percent", gc, "memory_limit", limit)
	}
	if loosened != 0 {
		d.log.Warn("the home was open to other users; made it private", "home", home, "was", fmt.Sprintf("%04o", loosened), "now", "0700")
	}
	if d.id, err = identity.LoadOrCreate(home); err != nil {
		return nil, err
	}
	firstPID, err := d.loadPIDSeq()
	if err != nil {
		return nil, err
	}
	kc := d.cfg.Kernel
	d.kernel, err = kernel.New(kernel.Config{
		MaxProcesses: kc.MaxProcesses, InboxCapacity: kc.InboxCapacity, DLQCapacity: kc.DeadLetterCapacity,
		StopGrace: kc.StopGrace.Duration, RequestTimeout: kc.RequestTimeout.Duration, FirstPID: firstPID, Reserve: d.reservePIDs,
		NodeID: d.id.NodeID, Version: opts.Version, Clock: opts.Clock, Logger: d.log.With("layer", "kernel"),
	})
	if err != nil {
		return nil, err
	}
	if err := d.openLLM(ctx); err != nil {
		return nil, err
	}
	if err := d.openChain(ctx); err != nil {
		return nil, err
	}
	if d.gov, err = d.openGov(); err != nil {
		return nil, err
	}
	if err := d.openAuthority(); err != nil {
		return nil, err
	}
	if err := d.openGraph(); err != nil {
		return nil, err
	}
	if d.chain != nil {
		d.openECC(ctx) // before the indexer, which feeds it
	}
	if err := d.openXref(); err != nil {
		return nil, err
	}
	d.recordKernelEvents()
	if d.chain != nil {
		d.recordRepairs(ctx)
		if err := d.gov.start(ctx); err != nil {
			return nil, err
		}
	}
	d.kernel.SetGate(gateAdapter{d})
	d.kernel.RegisterKind(kernel.MailboxKind, kernel.NewMailbox)
	if err := d.openToolHost(ctx); err != nil {
		return nil, err
	}
	if err := d.openMemory(ctx); err != nil {
		return nil, err
	}
	d.openAppHost()
	d.openAgentHost()
	d.openMCPSessions()
	if err := d.kernel.RegisterService(kernel.ServiceSpec{Name: "kernel", Type: "builtin", Owner: kernel.KernelPID,
		Endpoint: "ipc:kernel", Methods: []string{"ps", "spawn", "stop", "kill", "status"},
		Liveness: func(context.Context) error { return nil }}); err != nil {
		return nil, err
	}
	if err := d.registerLayerServices(); err != nil {
		return nil, err
	}
	d.metrics = metrics.NewRegistry()
	d.registerMetrics()
	if err := d.restoreCron(); err != nil {
		return nil, err
	}
	if err := d.openMesh(ctx); err != nil {
		return nil, err
	}
	if err := d.openGateway(); err != nil {
		return nil, err
	}
	if err := d.serve(); err != nil {
		return nil, err
	}
	if err := d.openUI(); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(home, PIDName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("daemon: writing pid file: %w", err)
	}
	d.kernel.Boot()
	d.kernel.StartHealthChecks(kc.HealthInterval.Duration)
	d.goBackground(d.reapIdleAgents)
	d.goBackground(d.apps.Restore)
	d.goBackground(d.replicateServices)
	d.log.Info("weave ready", "node", d.id.NodeID, "home", home, "version", opts.Version, "socket", filepath.Join(home, localapi.SocketName))
	return d, nil
}

// serve starts the local API (and the optional TCP metrics listener).
func (d *Daemon) serve() error {
	ln, token, err := localapi.Listen(d.home)
	if err != nil {
		return err
	}
	d.apiHandler = localapi.NewHandler(localapi.Options{Backend: d, Logger: d.log.With("layer", "api"), Metrics: d.metrics.Handler(),
		Token: token, Routes: d.routes(), ErrorCode: d.errorCode, Closing: d.closing})
	d.api = &http.Server{Handler: d.apiHandler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)}
	// Streams (subscriptions, chain tail -f, agent runs) end when the
	// server starts shutting down, instead of holding it up.
	d.api.RegisterOnShutdown(func() { close(d.closing) })
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := d.api.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("local API stopped", "err", err)
		}
	}()
	if addr := d.cfg.API.MetricsAddr; addr != "" {
		mln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("daemon: metrics listener %s: %w", addr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", d.metrics.Handler())
		d.metricSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			if err := d.metricSrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("metrics listener stopped", "err", err)
			}
		}()
		d.log.Info("serving metrics", "addr", mln.Addr().String())
	}
	return nil
}

// Done is closed when a client has asked the daemon to shut down.
func (d *Daemon) Done() <-chan struct{} { return d.shutdownCh }

// Home returns the absolute home directory.
func (d *Daemon) Home() string { return d.home }

// Kernel implements localapi.Backend.
func (d *Daemon) Kernel() *kernel.Kernel { return d.kernel }

// Shutdown implements localapi.Backend.
func (d *Daemon) Shutdown() {
	d.shutdownOnce.Do(func() { close(d.shutdownCh) })
}

// Status implements localapi.Backend.
func (d *Daemon) Status() apitype.Status {
	st := d.kernel.Status()
	out := apitype.Status{Version: d.opts.Version, NodeID: d.id.NodeID, Home: d.home, OSPID: os.Getpid(), Started: d.started,
		Uptime: st.Uptime, Health: st.Health, Processes: st.Processes, Services: st.Services, CronJobs: st.CronJobs,
		DeadLetters: st.DLQ, Environment: d.gov.engine.Env()}
	if d.chain != nil {
		out.ChainLength = d.chain.Len()
	}
	out.Providers, out.Model = d.modelStatus()
	out.Problems = d.problems()
	if len(out.Problems) > 0 && out.Health.Status == kernel.Healthy {
		out.Health.Status = kernel.Degraded
	}
	for _, p := range out.Problems {
		layer, _, _ := strings.Cut(p, ":")
		if !slices.Contains(out.Health.Degraded, layer) {
			out.Health.Degraded = append(out.Health.Degraded, layer)
		}
	}
	return out
}

// DefaultCaps implements localapi.Backend: what an operator-spawned process
// gets unless the request says otherwise — IPC to anyone, nothing else.
func (d *Daemon) DefaultCaps() kernel.Capabilities {
	return kernel.Capabilities{CanIPC: true, IPCScope: kernel.ScopeAllowAll}
}

// Config implements localapi.Backend.
func (d *Daemon) Config() apitype.ConfigResponse {
	b, _ := json.Marshal(d.cfg)
	return apitype.ConfigResponse{Path: d.cfgPath, Config: b}
}

// Close shuts the node down: the API stops accepting requests, processes
// are stopped (cancelled when ctx ends), and the home's files and lock are
// released.
func (d *Daemon) Close(ctx context.Context) error {
	d.closeOnce.Do(func() { d.closeErr = d.close(ctx) })
	return d.closeErr
}

func (d *Daemon) close(ctx context.Context) error {
	var errs []error
	if d.bgCancel != nil {
		d.bgCancel()
	}
	d.bgWG.Wait()
	d.closeECC()
	if err := d.closeGateway(ctx); err != nil {
		errs = append(errs, err)
	}
	if d.api != nil {
		if err := d.api.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("local API: %w", err))
			_ = d.api.Close()
		}
	}
	// After the API: its shutdown closes d.closing, which ends the
	// streams the UI forwards.
	if err := d.closeUI(ctx); err != nil {
		errs = append(errs, err)
	}
	if d.metricSrv != nil {
		_ = d.metricSrv.Shutdown(ctx)
	}
	if err := d.closeMesh(ctx); err != nil {
		errs = append(errs, err)
	}
	if d.kernel != nil {
		if err := d.kernel.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	// After the kernel: the agents have closed their sessions.
	if err := d.closeJournals(ctx); err != nil {
		errs = append(errs, err)
	}
	if d.gov != nil {
		if err := d.gov.pending.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("governance: %w", err))
		}
	}
	if err := d.closeMemory(ctx); err != nil {
		errs = append(errs, err)
	}
	if d.toolhost != nil {
		if err := d.toolhost.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("sandbox: %w", err))
		}
	}
	if d.xref != nil && d.chain != nil {
		// An orderly shutdown leaves the index current: what was appended
		// after the indexer stopped (the processes' exits, the last acts)
		// is indexed now, not at the next boot.
		if err := d.indexChain(ctx); err != nil {
			errs = append(errs, fmt.Errorf("xref: %w", err))
		}
	}
	if err := d.closeGraph(); err != nil {
		errs = append(errs, err)
	}
	if err := d.closeXref(); err != nil {
		errs = append(errs, err)
	}
	if err := d.closeChain(ctx); err != nil {
		errs = append(errs, err)
	}
	d.wg.Wait()
	if d.api != nil {
		localapi.Cleanup(d.home)
		_ = os.Remove(filepath.Join(d.home, PIDName))
	}
	if d.lock != nil {
		filelock.Unlock(d.lock)
	}
	if d.log != nil {
		d.log.Info("weave stopped", "home", d.home)
	}
	if d.logFile != nil {
		_ = d.logFile.Close()
	}
	if d.restoreRuntime != nil {
		d.restoreRuntime()
	}
	return errors.Join(errs...)
}

// loadPIDSeq reads the PID high-water mark so PIDs are never reused across
// boots.
func (d *Daemon) loadPIDSeq() (kernel.PID, error) {
	b, err := os.ReadFile(filepath.Join(d.home, PIDSeqName))
	if errors.Is(err, os.ErrNotExist) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("daemon: %w", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("daemon: %s is corrupt (%q); delete it to restart PIDs at 1", PIDSeqName, b)
	}
	return kernel.PID(n), nil
}

// reservePIDs durably records that PIDs below upTo may be in use.
func (d *Daemon) reservePIDs(upTo kernel.PID) error {
	return durable.WriteFile(filepath.Join(d.home, PIDSeqName), []byte(upTo.String()+"\n"))
}

// fail writes err as an API error.
func (d *Daemon) fail(w http.ResponseWriter, err error) { d.apiHandler.Fail(w, err) }

// problems lists what makes the node less than healthy, each "layer:
// reason": a chain that cannot be written, a constitution.toml that is not
// in force.
func (d *Daemon) problems() []string {
	var out []string
	if d.auth != nil {
		if err := d.auth.Healthy(); err != nil {
			out = append(out, "chain: "+err.Error())
		}
	}
	if d.gov != nil {
		if why := d.gov.invalidReason(); why != "" {
			out = append(out, "governance: constitution.toml is invalid; the adopted constitution is in force: "+why)
		}
		if id := d.gov.pendingProposal(); id != "" {
			out = append(out, "governance: constitution.toml differs from the adopted constitution; approve or reject it: weave gov approve "+id)
		}
	}
	return append(out, d.meshProblems()...)
}
