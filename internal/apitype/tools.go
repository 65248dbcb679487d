package apitype

import (
	"encoding/json"
	"time"

	"github.com/weftos/weftos/internal/toolpkg"
)

// ToolInstallRequest is the body of POST /v1/tools.
type ToolInstallRequest struct {
	Path string `json:"path"` // absolute: a package directory or .tar.gz
}

// InstalledTool answers POST /v1/tools and GET /v1/tools/{name}; GET
// /v1/tools lists them. It is also the install record the daemon keeps
// (install.json): InstallSeq is the chain seq of the tool.install event
// whose record hash binds every grant and limit.
type InstalledTool struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	Description string          `json:"description"`
	SHA256      string          `json:"sha256"`
	Limits      toolpkg.Limits  `json:"limits"`
	Hosts       []string        `json:"hosts,omitempty"`
	Env         []string        `json:"env,omitempty"`
	Mounts      []ToolMount     `json:"mounts,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
	Imports     []string        `json:"imports,omitempty"`
	Source      string          `json:"source"`
	Installed   time.Time       `json:"installed"`
	ActionID    string          `json:"action_id"`
	InstallSeq  uint64          `json:"install_seq"`
}

// ToolMount is a host directory an installed tool sees (the sandbox's
// mount, in the same JSON form: the install record's hash covers it).
type ToolMount struct {
	HostPath  string `json:"host_path"`
	GuestPath string `json:"guest_path"`
	ReadOnly  bool   `json:"read_only"`
}

// ToolRunRequest is the body of POST /v1/tools/{name}/run.
type ToolRunRequest struct {
	Input json.RawMessage `json:"input"`
}

// ToolRunResult answers a run. A run that fails answers an error whose
// details (ToolFailure) carry the tool's stderr.
type ToolRunResult struct {
	Output   json.RawMessage `json:"output"`
	FuelUsed int64           `json:"fuel_used"`
	Millis   int64           `json:"duration_ms"`
	Stderr   string          `json:"stderr,omitempty"`
}

// ToolRemoveResponse answers DELETE /v1/tools/{name}.
type ToolRemoveResponse struct {
	Removed string `json:"removed"`
}

// ToolFailure is what a failed tool run leaves behind: its stderr (what
// the tool said about the failure) and how far it got.
type ToolFailure struct {
	Stderr   string `json:"stderr,omitempty"`
	FuelUsed int64  `json:"fuel_used"`
	Millis   int64  `json:"duration_ms"`
}
