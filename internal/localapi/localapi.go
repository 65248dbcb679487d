// Package localapi serves the weave daemon's local API: HTTP/JSON on a Unix
// socket (mode 0600) in the node's home, or on Windows loopback TCP with a
// bearer token kept in a file only the user can read. internal/client is
// its typed client; apitype holds the wire types.
package localapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
)

// Backend is what the handlers need from the daemon.
type Backend interface {
	Kernel() *kernel.Kernel
	Status() apitype.Status
	DefaultCaps() kernel.Capabilities
	AddCron(ctx context.Context, req apitype.CronRequest) (kernel.CronJob, error)
	RemoveCron(ctx context.Context, id string) error
	Config() apitype.ConfigResponse
	// Shutdown starts an orderly shutdown and returns at once.
	Shutdown()
}

// Route is an extra handler mounted by an outer layer (chain, governance).
type Route struct {
	Pattern string // net/http ServeMux pattern, e.g. "GET /v1/chain/status"
	Handler http.HandlerFunc
}

// Options configure a Handler.
type Options struct {
	Backend Backend
	Logger  *slog.Logger
	Metrics http.Handler
	// Token, when set, must be presented as "Authorization: Bearer TOKEN".
	Token  string
	Routes []Route
	// ErrorCode maps errors of outer layers to a code and HTTP status;
	// ok false falls back to the kernel's codes.
	ErrorCode func(error) (code string, status int, ok bool)
	// Closing, when closed, ends every open stream (subscriptions), so a
	// shutdown is not held up by clients that never hang up.
	Closing <-chan struct{}
}

// Handler serves the API.
type Handler struct {
	opts     Options
	mux      *http.ServeMux
	patterns []string
}

// NewHandler builds the API handler.
func NewHandler(opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{opts: opts, mux: http.NewServeMux()}
	m := patternRecorder{h}
	m.HandleFunc("GET /v1/status", h.status)
	m.HandleFunc("GET /v1/processes", h.ps)
	m.HandleFunc("POST /v1/processes", h.spawn)
	m.HandleFunc("GET /v1/processes/{pid}", h.inspect)
	m.HandleFunc("POST /v1/processes/{pid}/{action}", h.control)
	m.HandleFunc("PUT /v1/processes/{pid}/capabilities", h.elevate)
	m.HandleFunc("GET /v1/services", h.services)
	m.HandleFunc("POST /v1/services", h.serviceRegister)
	m.HandleFunc("DELETE /v1/services/{name}", h.serviceUnregister)
	m.HandleFunc("POST /v1/ipc/send", h.send)
	m.HandleFunc("GET /v1/ipc/subscribe", h.subscribe)
	m.HandleFunc("GET /v1/ipc/dlq", h.dlq)
	m.HandleFunc("GET /v1/cron", h.cronList)
	m.HandleFunc("POST /v1/cron", h.cronAdd)
	m.HandleFunc("DELETE /v1/cron/{id}", h.cronRemove)
	m.HandleFunc("GET /v1/config", h.config)
	m.HandleFunc("POST /v1/shutdown", h.shutdown)
	if opts.Metrics != nil {
		m.HandleFunc("GET /metrics", opts.Metrics.ServeHTTP)
	}
	for _, r := range opts.Routes {
		m.HandleFunc(r.Pattern, r.Handler)
	}
	return h
}

// patternRecorder registers handlers and remembers their patterns.
type patternRecorder struct{ h *Handler }

func (p patternRecorder) HandleFunc(pattern string, f http.HandlerFunc) {
	p.h.mux.HandleFunc(pattern, f)
	p.h.patterns = append(p.h.patterns, pattern)
}

// Patterns lists every endpoint the handler serves ("GET /v1/status", …).
func (h *Handler) Patterns() []string { return slices.Clone(h.patterns) }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+h.opts.Token {
		WriteError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong API token")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Authenticated is the API without its bearer-token check, for a front end
// that authenticates requests itself before handing them on (the control
// UI: session cookie and CSRF token). It serves the same handlers.
func (h *Handler) Authenticated() http.Handler { return h.mux }

// WriteJSON writes v with status 200.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes an error body.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apitype.ErrorResponse{Error: apitype.Error{Code: code, Message: msg}})
}

// WriteErrorBody writes e with status.
func WriteErrorBody(w http.ResponseWriter, status int, e apitype.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apitype.ErrorResponse{Error: e})
}

// Fail writes err with its stable code and matching HTTP status.
func (h *Handler) Fail(w http.ResponseWriter, err error) {
	code, status := h.Code(err)
	WriteError(w, status, code, err.Error())
}

// Code is err's stable code and HTTP status: the outer layers' mapping
// first, then the kernel's.
func (h *Handler) Code(err error) (string, int) {
	if h.opts.ErrorCode != nil {
		if code, status, ok := h.opts.ErrorCode(err); ok {
			return code, status
		}
	}
	code := kernel.Code(err)
	return code, statusFor(code)
}

func statusFor(code string) int {
	switch code {
	case "unknown_pid", "unknown_service", "unknown_method", "unknown_job", "unknown_kind", "unknown_supervisor":
		return http.StatusNotFound
	case "illegal_transition", "service_exists", "not_running", "suspended":
		return http.StatusConflict
	case "scope_violation", "capability_denied", "capability_exceeds_parent", "denied":
		return http.StatusForbidden
	case "limit_reached", "max_processes":
		return http.StatusTooManyRequests
	case "inbox_full", "kernel_closed":
		return http.StatusServiceUnavailable
	case "invalid_argument", "bad_kernel_request", "duplicate_child", "service_not_ipc":
		return http.StatusBadRequest
	case "deadline_exceeded", "no_responder":
		return http.StatusGatewayTimeout
	case "mesh_not_enabled":
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

func pathPID(w http.ResponseWriter, r *http.Request) (kernel.PID, bool) {
	n, err := strconv.ParseUint(r.PathValue("pid"), 10, 64)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "invalid_argument", fmt.Sprintf("%q is not a PID", r.PathValue("pid")))
		return 0, false
	}
	return kernel.PID(n), true
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, h.opts.Backend.Status())
}

func (h *Handler) ps(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, h.opts.Backend.Kernel().PS(r.URL.Query().Get("exited") == "1"))
}

func (h *Handler) spawn(w http.ResponseWriter, r *http.Request) {
	var req apitype.SpawnRequest
	if !DecodeBody(w, r, &req) {
		return
	}
	if req.Kind == "" {
		req.Kind = kernel.MailboxKind
	}
	caps := h.opts.Backend.DefaultCaps()
	if req.Caps != nil {
		caps = *req.Caps
	}
	pid, err := h.opts.Backend.Kernel().Spawn(r.Context(), kernel.SpawnSpec{Name: req.Name, Kind: req.Kind, Args: req.Args, Parent: req.Parent, Caps: caps})
	if err != nil {
		h.Fail(w, err)
		return
	}
	WriteJSON(w, apitype.SpawnResponse{PID: pid})
}

func (h *Handler) inspect(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathPID(w, r)
	if !ok {
		return
	}
	in, err := h.opts.Backend.Kernel().Inspect(pid)
	if err != nil {
		h.Fail(w, err)
		return
	}
	WriteJSON(w, in)
}

func (h *Handler) control(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathPID(w, r)
	if !ok {
		return
	}
	a := r.PathValue("action")
	switch a {
	case kernel.OpStop, kernel.OpKill, kernel.OpSuspend, kernel.OpResume:
	default:
		WriteError(w, http.StatusNotFound, "invalid_argument", fmt.Sprintf("unknown action %q (want stop, kill, suspend or resume)", a))
		return
	}
	// The operator's control operations are governed like any other.
	if err := h.opts.Backend.Kernel().Control(r.Context(), kernel.KernelPID, pid, a); err != nil {
		h.Fail(w, err)
		return
	}
	WriteJSON(w, apitype.OK{OK: true})
}

// elevate replaces a process's capabilities (governed as
// capability.elevate).
func (h *Handler) elevate(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathPID(w, r)
	if !ok {
		return
	}
	var caps kernel.Capabilities
	if !DecodeBody(w, r, &caps) {
		return
	}
	if err := h.opts.Backend.Kernel().Elevate(r.Context(), pid, caps); err != nil {
		h.Fail(w, err)
		return
	}
	WriteJSON(w, apitype.OK{OK: true})
}

func (h *Handler) services(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, h.opts.Backend.Kernel().Services())
}

// serviceRegister registers a process as a service on the operator's
// behalf (governed as service.register).
func (h *Handler) serviceRegister(w http.ResponseWriter, r *http.Request) {
	var req apitype.ServiceRegisterRequest
	if !DecodeBody(w, r, &req) {
		return
	}
	info, err := h.opts.Backend.Kernel().RegisterServiceAs(r.Context(), kernel.KernelPID, kernel.ServiceSpec{Name: req.Name, Owner: req.PID,
		Methods: req.Methods, Idempotent: req.Idempotent, Type: req.Type, Endpoint: req.Endpoint})
	if err != nil {
		h.Fail(w, err)
		return
	}
	WriteJSON(w, info)
}

// serviceUnregister removes a service on the operator's behalf (governed
// as service.unregister).
func (h *Handler) serviceUnregister(w http.ResponseWriter, r *http.Request) {
	if err := h.opts.Backend.Kernel().UnregisterServiceAs(r.Context(), kernel.KernelPID, r.PathValue("name")); err != nil {
		h.Fail(w, err)
		return
	}
	WriteJSON(w, apitype.OK{OK: true})
}

func (h *Handler) send(w http.ResponseWriter, r *http.Request) {
	var req apitype.SendRequest
	if !DecodeBody(w, r, &req) {
		return
	}
	timeout := req.Timeout.Duration()
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	env := &kernel.Envelope{From: req.From, Target: req.Target, Payload: req.Payload, TraceID: req.TraceID}
	k := h.opts.Backend.Kernel()
	if req.Request {
		reply, err := k.Request(ctx, env)
		if err != nil {
			h.Fail(w, err)
			return
		}
		WriteJSON(w, apitype.SendResponse{ID: env.ID, Reply: reply})
		return
	}
	id, err := k.Send(ctx, env)
	if err != nil {
		h.Fail(w, err)
		return
	}
	WriteJSON(w, apitype.SendResponse{ID: id})
}

// subscribe streams a topic's messages as JSON lines until the client goes
// away. Messages the client does not read fast enough go to the
// dead-letter queue.
func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request) {
	topic := strings.TrimSpace(r.URL.Query().Get("topic"))
	if topic == "" {
		WriteError(w, http.StatusBadRequest, "invalid_argument", "subscribe needs ?topic=NAME")
		return
	}
	if err := kernel.CheckName("topic", topic); err != nil {
		h.Fail(w, err)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		WriteError(w, http.StatusInternalServerError, "internal", "streaming unsupported")
		return
	}
	ch := make(chan *kernel.Envelope, 256)
	cancel := h.opts.Backend.Kernel().SubscribeFunc(topic, func(e *kernel.Envelope) bool {
		select {
		case ch <- e:
			return true
		default:
			return false
		}
	})
	defer cancel()
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.opts.Closing:
			return
		case e := <-ch:
			if err := enc.Encode(e); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

func (h *Handler) dlq(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, h.opts.Backend.Kernel().DeadLetters())
}

func (h *Handler) cronList(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, h.opts.Backend.Kernel().CronJobs())
}

func (h *Handler) cronAdd(w http.ResponseWriter, r *http.Request) {
	var req apitype.CronRequest
	if !DecodeBody(w, r, &req) {
		return
	}
	job, err := h.opts.Backend.AddCron(r.Context(), req)
	if err != nil {
		h.Fail(w, err)
		return
	}
	WriteJSON(w, job)
}

func (h *Handler) cronRemove(w http.ResponseWriter, r *http.Request) {
	if err := h.opts.Backend.RemoveCron(r.Context(), r.PathValue("id")); err != nil {
		h.Fail(w, err)
		return
	}
	WriteJSON(w, apitype.OK{OK: true})
}

func (h *Handler) config(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, h.opts.Backend.Config())
}

func (h *Handler) shutdown(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, apitype.OK{OK: true})
	h.opts.Backend.Shutdown()
}
