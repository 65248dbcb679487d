package sandbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// HostModule is the import module name of the WeftOS host functions.
const HostModule = "weftos"

// Host is what a run may ask of its caller. The daemon implements it with
// the governance check and the chain record; the sandbox itself enforces
// the run's granted hosts before calling Fetch (defence in depth).
type Host interface {
	// Log receives a guest log line (already truncated to MaxLogBytes).
	Log(ctx context.Context, level slog.Level, msg string)
	// Fetch performs an HTTP request for the guest. Returning an error
	// wrapping ErrFetchDenied reports a policy denial to the guest.
	Fetch(ctx context.Context, req FetchRequest) (FetchResponse, error)
}

// FetchRequest is the JSON request a guest passes to http_fetch.
type FetchRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// FetchResponse is the JSON response written into the guest's buffer.
type FetchResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
}

// http_fetch return codes (negative; a non-negative result is the length
// of the response JSON written at resp_ptr).
const (
	// FetchErrInvalid: the request is not valid JSON, the URL is not
	// http(s), or a pointer/length is outside guest memory.
	FetchErrInvalid int32 = -1
	// FetchErrDenied: the host is not granted, or the caller denied it.
	FetchErrDenied int32 = -2
	// FetchErrFailed: the request was allowed but failed.
	FetchErrFailed int32 = -3
	// FetchErrTooSmall: the response is larger than resp_cap. If resp_cap
	// ≥ 4 the needed length is written at resp_ptr as a little-endian
	// u32. The response is held: calling again with the same request
	// bytes and a large enough buffer returns it without a second fetch.
	FetchErrTooSmall int32 = -4
	// FetchErrLimit: the run made more than MaxFetches calls.
	FetchErrLimit int32 = -5
)

// Per-run host call limits.
const (
	MaxLogBytes        = 4096 // a longer log message is truncated
	DefaultMaxLogCalls = 1000 // further log calls are dropped (and counted)
	MaxFetches         = 64
	MaxFetchBytes      = 8 << 20 // request or response JSON
)

// Log levels accepted by weftos.log.
const (
	LogDebug int32 = 0
	LogInfo  int32 = 1
	LogWarn  int32 = 2
	LogError int32 = 3
)

func slogLevel(l int32) slog.Level {
	switch {
	case l <= LogDebug:
		return slog.LevelDebug
	case l == LogInfo:
		return slog.LevelInfo
	case l == LogWarn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

type runStateKey struct{}

// runState is the per-run context the host functions see.
type runState struct {
	host    Host
	logger  *slog.Logger
	allowed []string // granted hosts, lower-case, "host" or "host:port"
	maxLogs int
	// hasMemory is false for a module without linear memory; its
	// Memory() is a typed nil that must not be used.
	hasMemory bool

	mu          sync.Mutex
	logCalls    int
	logsDropped int
	fetches     int
	heldReq     []byte // request bytes of a response held after FetchErrTooSmall
	heldResp    []byte
}

func stateFrom(ctx context.Context) *runState {
	s, _ := ctx.Value(runStateKey{}).(*runState)
	return s
}

// hostModuleBuilder defines the weftos host module in rt.
func hostModuleBuilder(rt wazero.Runtime) wazero.HostModuleBuilder {
	i32 := api.ValueTypeI32
	return rt.NewHostModuleBuilder(HostModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostLog), []api.ValueType{i32, i32, i32}, nil).
		WithParameterNames("level", "ptr", "len").
		Export("log").
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostFetch), []api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}).
		WithParameterNames("req_ptr", "req_len", "resp_ptr", "resp_cap").
		Export("http_fetch")
}

func hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	if s == nil {
		return
	}
	if !s.hasMemory {
		return
	}
	level := api.DecodeI32(stack[0])
	ptr, n := api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	s.mu.Lock()
	if s.logCalls >= s.maxLogs {
		s.logsDropped++
		s.mu.Unlock()
		return
	}
	s.logCalls++
	s.mu.Unlock()
	if n > MaxLogBytes {
		n = MaxLogBytes
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		return
	}
	msg := strings.ToValidUTF8(string(b), "\uFFFD")
	if s.host != nil {
		s.host.Log(ctx, slogLevel(level), msg)
	} else {
		s.logger.Log(ctx, slogLevel(level), msg, "source", "tool")
	}
}

func hostFetch(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	reqPtr, reqLen := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	respPtr, respCap := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	if s == nil || !s.hasMemory {
		stack[0] = api.EncodeI32(FetchErrInvalid)
		return
	}
	stack[0] = api.EncodeI32(s.fetch(ctx, mod.Memory(), reqPtr, reqLen, respPtr, respCap))
}

func (s *runState) fetch(ctx context.Context, mem api.Memory, reqPtr, reqLen, respPtr, respCap uint32) int32 {
	if s == nil || mem == nil {
		return FetchErrInvalid
	}
	if reqLen > MaxFetchBytes {
		return FetchErrInvalid
	}
	if _, ok := mem.Read(respPtr, respCap); !ok {
		return FetchErrInvalid
	}
	raw, ok := mem.Read(reqPtr, reqLen)
	if !ok {
		return FetchErrInvalid
	}
	s.mu.Lock()
	if s.heldResp != nil && bytes.Equal(s.heldReq, raw) {
		resp := s.heldResp
		if uint32(len(resp)) <= respCap {
			s.heldReq, s.heldResp = nil, nil
		}
		s.mu.Unlock()
		return writeResponse(mem, resp, respPtr, respCap)
	}
	if s.fetches >= MaxFetches {
		s.mu.Unlock()
		return FetchErrLimit
	}
	s.fetches++
	s.mu.Unlock()

	var req FetchRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return FetchErrInvalid
	}
	if req.Method == "" {
		req.Method = "GET"
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return FetchErrInvalid
	}
	if !hostAllowed(s.allowed, u) {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "sandbox: fetch to host not granted", slog.String("host", u.Host))
		return FetchErrDenied
	}
	if s.host == nil {
		return FetchErrDenied
	}
	resp, err := s.host.Fetch(ctx, req)
	if err != nil {
		if errors.Is(err, ErrFetchDenied) {
			return FetchErrDenied
		}
		s.logger.LogAttrs(ctx, slog.LevelDebug, "sandbox: fetch failed", slog.String("err", err.Error()))
		return FetchErrFailed
	}
	out, err := json.Marshal(resp)
	if err != nil || len(out) > MaxFetchBytes {
		return FetchErrFailed
	}
	if uint32(len(out)) > respCap {
		s.mu.Lock()
		s.heldReq, s.heldResp = append([]byte(nil), raw...), out
		s.mu.Unlock()
	}
	return writeResponse(mem, out, respPtr, respCap)
}

func writeResponse(mem api.Memory, resp []byte, ptr, capacity uint32) int32 {
	if uint32(len(resp)) > capacity {
		if capacity >= 4 {
			var n [4]byte
			binary.LittleEndian.PutUint32(n[:], uint32(len(resp)))
			mem.Write(ptr, n[:])
		}
		return FetchErrTooSmall
	}
	if !mem.Write(ptr, resp) {
		return FetchErrInvalid
	}
	return int32(len(resp))
}

// normalizeHosts lower-cases grants and strips a trailing dot.
func normalizeHosts(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if h != "" {
			out = append(out, h)
		}
	}
	return out
}

// hostAllowed matches u against the grants: a grant "host" allows any
// port of that host, a grant "host:port" only that port. Matching is
// exact (no wildcards, no subdomains).
func hostAllowed(grants []string, u *url.URL) bool {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	for _, g := range grants {
		gh, gp, err := net.SplitHostPort(g)
		if err != nil {
			gh, gp = strings.Trim(g, "[]"), ""
		}
		if gh == host && (gp == "" || gp == port) {
			return true
		}
	}
	return false
}
