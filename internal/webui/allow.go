package webui

// Allowed lists the local API endpoints the control UI may reach (net/http
// ServeMux patterns). Every one goes through the same handler, and every
// privileged one through the same governed path, as the CLI's. Left out on
// purpose, whatever a client sends: minting or revoking gateway tokens,
// replacing a process's capabilities, installing tools, registering
// services, raw IPC and shutdown — acts that mint
// credentials or widen authority stay with the CLI on the owner-only
// socket, so a browser session cannot make itself more than it is.
var Allowed = []string{
	"GET /v1/status",
	"GET /v1/processes",
	"GET /v1/processes/{pid}",
	"POST /v1/processes/{pid}/{action}",
	"GET /v1/services",
	"GET /v1/ipc/dlq",
	"GET /v1/cron",
	"POST /v1/cron",
	"DELETE /v1/cron/{id}",
	"GET /v1/config",
	"GET /metrics",
	"GET /v1/chain/status",
	"GET /v1/chain/keys",
	"GET /v1/chain/events",
	"GET /v1/chain/events/{seq}",
	"GET /v1/chain/export",
	"GET /v1/chain/prove/{seq}",
	"GET /v1/chain/consistency",
	"GET /v1/gov/rules",
	"POST /v1/gov/check",
	"GET /v1/gov/env",
	"POST /v1/gov/amend",
	"POST /v1/gov/retire",
	"GET /v1/gov/pending",
	"POST /v1/gov/pending/{id}/{verdict}",
	"GET /v1/gov/audit",
	"GET /v1/logs",
	"GET /v1/doctor",
	"POST /v1/memory/search",
	"GET /v1/memory/stats",
	"DELETE /v1/memory/{id}",
	"POST /v1/agent/run",
	"GET /v1/agent/tools",
	"GET /v1/models",
	"GET /v1/skills",
	"GET /v1/sessions",
	"GET /v1/sessions/{name}",
	"GET /v1/sessions/{name}/journal",
	"POST /v1/sessions/{name}/fork",
	"GET /v1/tools",
	"GET /v1/tools/{name}",
	"GET /v1/channels",
	"GET /v1/pairing",
	"GET /v1/cluster",
	"GET /v1/cluster/peers",
	"GET /v1/chain/witnesses",
	"POST /v1/pairing/{code}/{verdict}",
}
