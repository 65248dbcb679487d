// Package apitype holds the request and response types of the local API
// that the weave daemon serves on its Unix socket and that
// internal/client speaks. Field names are the JSON wire format; changing
// one is an API change.
package apitype

import (
	"encoding/json"
	"time"

	"github.com/weftos/weftos/internal/kernel"
)

// Version is the local API's version prefix.
const Version = "v1"

// Error is the body of every non-2xx response.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Tool, for a tool run that failed, is what the run left behind.
	Tool *ToolFailure `json:"tool,omitempty"`
}

// HTTP trailers of a streamed answer that fails after it started (a chain
// export that meets a damaged record): the error's code and message.
const (
	TrailerErrorCode    = "Weft-Error-Code"
	TrailerErrorMessage = "Weft-Error-Message"
)

// ErrorResponse wraps Error.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Status answers GET /v1/status.
type Status struct {
	Version     string                 `json:"version"`
	NodeID      string                 `json:"node_id"`
	Home        string                 `json:"home"`
	OSPID       int                    `json:"os_pid"`
	Started     time.Time              `json:"started"`
	Uptime      kernel.Millis          `json:"uptime_ms"`
	Health      kernel.AggregateHealth `json:"health"`
	Processes   int                    `json:"processes"`
	Services    int                    `json:"services"`
	CronJobs    int                    `json:"cron_jobs"`
	DeadLetters int                    `json:"dead_letters"`
	Environment string                 `json:"environment,omitempty"`
	ChainLength uint64                 `json:"chain_length"`
	// Providers are the configured LLM providers (never their keys).
	Providers []Provider `json:"providers,omitempty"`
	// Model is the model runs use when they name none ("" if runs must).
	Model string `json:"model,omitempty"`
	// Problems lists, one "layer: reason" each, what keeps the node from
	// being healthy (a chain that cannot be written, a constitution.toml
	// that is not in force).
	Problems []string `json:"problems,omitempty"`
}

// Provider is a configured LLM provider, as status shows it.
type Provider struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`     // openai (any compatible server) or anthropic
	BaseURL string `json:"base_url"` // without credentials
	// Local is true for a loopback endpoint: prompts never leave the machine.
	Local bool `json:"local"`
}

// SpawnRequest is the body of POST /v1/processes.
type SpawnRequest struct {
	Name   string          `json:"name"`
	Kind   string          `json:"kind"`
	Args   json.RawMessage `json:"args,omitempty"`
	Parent kernel.PID      `json:"parent"`
	// Caps, when nil, gives the node's default agent capabilities.
	Caps *kernel.Capabilities `json:"capabilities,omitempty"`
}

// SpawnResponse answers POST /v1/processes.
type SpawnResponse struct {
	PID kernel.PID `json:"pid"`
}

// SendRequest is the body of POST /v1/ipc/send. From defaults to PID 0 (the
// operator acting as the kernel).
type SendRequest struct {
	From    kernel.PID     `json:"from"`
	Target  kernel.Target  `json:"target"`
	Payload kernel.Payload `json:"payload"`
	TraceID string         `json:"trace_id,omitempty"`
	// Request waits for the reply, up to Timeout (default 5s).
	Request bool          `json:"request,omitempty"`
	Timeout kernel.Millis `json:"timeout_ms,omitempty"`
}

// SendResponse answers POST /v1/ipc/send.
type SendResponse struct {
	ID    uint64           `json:"id"`
	Reply *kernel.Envelope `json:"reply,omitempty"`
}

// CronRequest is the body of POST /v1/cron.
type CronRequest struct {
	Name     string         `json:"name,omitempty"`
	Schedule string         `json:"schedule"` // cron expression or @every DURATION
	From     kernel.PID     `json:"from"`
	Target   kernel.Target  `json:"target"`
	Payload  kernel.Payload `json:"payload"`
}

// ConfigResponse answers GET /v1/config.
type ConfigResponse struct {
	Path   string          `json:"path"`
	Config json.RawMessage `json:"config"`
}

// OK is the body of responses with nothing else to say.
type OK struct {
	OK bool `json:"ok"`
}
