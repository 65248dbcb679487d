package apitype

import (
	"time"

	"github.com/weftos/weftos/internal/apppkg"
)

// AppInstallRequest is the body of POST /v1/apps (install) and POST
// /v1/apps/{name}/upgrade.
type AppInstallRequest struct {
	Path string `json:"path"` // absolute: a package directory or .tar.gz
}

// App answers the app endpoints; GET /v1/apps lists them. It is also the
// record the daemon keeps (HOME/apps/NAME/app.json).
type App struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Description string            `json:"description"`
	Digest      string            `json:"digest"`
	Signature   string            `json:"signature"` // trusted, untrusted or unsigned
	Publisher   string            `json:"publisher,omitempty"`
	Source      string            `json:"source"`
	Installed   time.Time         `json:"installed"`
	ActionID    string            `json:"action_id"`
	InstallSeq  uint64            `json:"install_seq"`
	Agents      []string          `json:"agents"`
	Skills      []string          `json:"skills"`
	Tools       []string          `json:"tools"`
	Services    []apppkg.Service  `json:"services"`
	Cron        []apppkg.Cron     `json:"cron"`
	Requests    apppkg.Requests   `json:"requests"`
	Config      map[string]string `json:"config,omitempty"`
	Workspace   string            `json:"workspace"`
	// Running is set while the app's services run (start … stop).
	Running    bool     `json:"running"`
	Supervisor string   `json:"supervisor,omitempty"`
	CronIDs    []string `json:"cron_ids,omitempty"`
}

// AppRemoveResponse answers DELETE /v1/apps/{name}.
type AppRemoveResponse struct {
	Removed string `json:"removed"`
}
