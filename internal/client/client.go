// Package client is the typed Go client of the weave daemon's local API.
// The weave and weft CLIs reach the daemon only through it.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"syscall"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/kernel"
)

// ErrNoDaemon means no daemon answers on the home's socket.
var ErrNoDaemon = errors.New("client: no weave daemon is running on this home (start one with `weave boot`)")

// APIError is a non-2xx answer from the daemon. It matches the sentinel
// error of its code, the kernel's (errors.Is(err, kernel.ErrUnknownPID))
// or the outer layers' (errors.Is(err, apitype.ErrDenied)): the one place
// codes become errors again on this side of the boundary.
type APIError struct {
	Status  int
	Code    string
	Message string
	// Tool is set for a tool run that failed: its stderr and usage.
	Tool *apitype.ToolFailure
}

func (e *APIError) Error() string { return e.Message }

// Is matches sentinels by code.
func (e *APIError) Is(target error) bool {
	if s := kernel.ErrorForCode(e.Code); s != nil && s == target {
		return true
	}
	s := apitype.ErrorForCode(e.Code)
	return s != nil && s == target
}

// Client talks to one daemon.
type Client struct {
	home  string
	http  *http.Client
	base  string
	token string
}

// New returns a client for the daemon whose home is home. It does not
// connect until the first call.
func New(home string) (*Client, error) {
	dial, token, err := dialer(home)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{DialContext: dial, DisableCompression: true}
	return &Client{home: home, http: &http.Client{Transport: tr}, base: "http://weave", token: token}, nil
}

// Home returns the home directory the client talks to.
func (c *Client) Home() string { return c.home }

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	resp, err := c.open(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("client: decoding %s %s: %w", method, path, err)
	}
	return nil
}

func (c *Client) open(ctx context.Context, method, path string, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if isNoDaemon(err) {
			return nil, ErrNoDaemon
		}
		return nil, fmt.Errorf("client: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		var er apitype.ErrorResponse
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(b, &er) != nil || er.Error.Code == "" {
			return nil, &APIError{Status: resp.StatusCode, Code: "internal", Message: fmt.Sprintf("daemon answered %s: %s", resp.Status, bytes.TrimSpace(b))}
		}
		return nil, &APIError{Status: resp.StatusCode, Code: er.Error.Code, Message: er.Error.Message, Tool: er.Error.Tool}
	}
	return resp, nil
}

func isNoDaemon(err error) bool {
	var op *net.OpError
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, errNoAddrFile) ||
		(errors.As(err, &op) && op.Op == "dial")
}

// stream sends in (JSON, when not nil) with method and calls fn for each
// JSON line of the answer until the stream ends, fn fails or ctx ends.
func (c *Client) stream(ctx context.Context, method, path string, in any, fn func(line []byte) error) error {
	resp, err := c.open(ctx, method, path, in)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("client: stream: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return trailerError(resp)
}

// trailerError is the error a stream that failed after it started reports
// in its trailer, or nil.
func trailerError(resp *http.Response) error {
	if code := resp.Trailer.Get(apitype.TrailerErrorCode); code != "" {
		return &APIError{Status: resp.StatusCode, Code: code, Message: resp.Trailer.Get(apitype.TrailerErrorMessage)}
	}
	return nil
}

// Status returns the daemon's status.
func (c *Client) Status(ctx context.Context) (apitype.Status, error) {
	var s apitype.Status
	return s, c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// PS lists processes; exited adds recently exited ones.
func (c *Client) PS(ctx context.Context, exited bool) ([]kernel.Info, error) {
	var out []kernel.Info
	path := "/v1/processes"
	if exited {
		path += "?exited=1"
	}
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// Spawn starts a process.
func (c *Client) Spawn(ctx context.Context, req apitype.SpawnRequest) (kernel.PID, error) {
	var out apitype.SpawnResponse
	return out.PID, c.do(ctx, http.MethodPost, "/v1/processes", req, &out)
}

// Inspect returns one process.
func (c *Client) Inspect(ctx context.Context, pid kernel.PID) (kernel.Info, error) {
	var out kernel.Info
	return out, c.do(ctx, http.MethodGet, "/v1/processes/"+pid.String(), nil, &out)
}

// Control applies stop, kill, suspend or resume to a process.
func (c *Client) Control(ctx context.Context, pid kernel.PID, action string) error {
	return c.do(ctx, http.MethodPost, "/v1/processes/"+pid.String()+"/"+url.PathEscape(action), nil, nil)
}

// Elevate replaces a process's capabilities; governance decides it.
func (c *Client) Elevate(ctx context.Context, pid kernel.PID, caps kernel.Capabilities) error {
	return c.do(ctx, http.MethodPut, "/v1/processes/"+pid.String()+"/capabilities", caps, nil)
}

// Services lists registered services.
func (c *Client) Services(ctx context.Context) ([]kernel.ServiceInfo, error) {
	var out []kernel.ServiceInfo
	return out, c.do(ctx, http.MethodGet, "/v1/services", nil, &out)
}

// Send sends a message (and, with req.Request, waits for the reply).
func (c *Client) Send(ctx context.Context, req apitype.SendRequest) (apitype.SendResponse, error) {
	var out apitype.SendResponse
	return out, c.do(ctx, http.MethodPost, "/v1/ipc/send", req, &out)
}

// Subscribe streams a topic's messages to fn until ctx ends or fn fails.
func (c *Client) Subscribe(ctx context.Context, topic string, fn func(kernel.Envelope) error) error {
	return c.stream(ctx, http.MethodGet, "/v1/ipc/subscribe?topic="+url.QueryEscape(topic), nil, func(line []byte) error {
		var e kernel.Envelope
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("client: subscribe: %w", err)
		}
		return fn(e)
	})
}

// DeadLetters returns the dead-letter queue.
func (c *Client) DeadLetters(ctx context.Context) ([]kernel.DeadLetter, error) {
	var out []kernel.DeadLetter
	return out, c.do(ctx, http.MethodGet, "/v1/ipc/dlq", nil, &out)
}

// CronAdd schedules a job.
func (c *Client) CronAdd(ctx context.Context, req apitype.CronRequest) (kernel.CronJob, error) {
	var out kernel.CronJob
	return out, c.do(ctx, http.MethodPost, "/v1/cron", req, &out)
}

// CronList lists jobs.
func (c *Client) CronList(ctx context.Context) ([]kernel.CronJob, error) {
	var out []kernel.CronJob
	return out, c.do(ctx, http.MethodGet, "/v1/cron", nil, &out)
}

// CronRemove cancels a job.
func (c *Client) CronRemove(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/cron/"+url.PathEscape(id), nil, nil)
}

// Config returns the daemon's configuration and its file's path.
func (c *Client) Config(ctx context.Context) (apitype.ConfigResponse, error) {
	var out apitype.ConfigResponse
	return out, c.do(ctx, http.MethodGet, "/v1/config", nil, &out)
}

// Shutdown asks the daemon to shut down.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/shutdown", nil, nil)
}

// Metrics returns the Prometheus text exposition.
func (c *Client) Metrics(ctx context.Context) (string, error) {
	resp, err := c.open(ctx, http.MethodGet, "/metrics", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// ParsePID parses a PID argument.
func ParsePID(s string) (kernel.PID, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a PID", s)
	}
	return kernel.PID(n), nil
}
