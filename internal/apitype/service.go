package apitype

import "github.com/weftos/weftos/internal/kernel"

// ServiceRegisterRequest is the body of POST /v1/services: the operator
// registers the process PID as the service Name. The kernel decides it
// as the governed act service.register; the answer is the registered
// service (kernel.ServiceInfo).
type ServiceRegisterRequest struct {
	Name string     `json:"name"`
	PID  kernel.PID `json:"pid"`
	// Methods is the contract: messages to service:NAME.METHOD must name
	// one. Empty: the service is addressed as a whole only.
	Methods []string `json:"methods,omitempty"`
	// Idempotent lists methods of the contract that may run twice with
	// the effect of once: a call to one that a replica on another node
	// left unanswered is retried once on a surviving replica.
	Idempotent []string `json:"idempotent,omitempty"`
	// Type labels the service in listings (default: the process's kind).
	Type     string `json:"type,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
}

// AgentStartRequest is the body of POST /v1/agent/start: start the agent
// defined by agents/AGENT.yaml as a long-running process that registers
// the definition's services, under its supervisor when the definition
// declares a restart policy.
type AgentStartRequest struct {
	Agent string `json:"agent"`
	// Session is the session the agent journals to (default: the agent's
	// name).
	Session string `json:"session,omitempty"`
	// Workspace is an absolute path (default: agents.workspace from
	// weftos.toml).
	Workspace string `json:"workspace,omitempty"`
	Model     string `json:"model,omitempty"`
}

// AgentStartResponse answers POST /v1/agent/start.
type AgentStartResponse struct {
	PID     kernel.PID `json:"pid"`
	Name    string     `json:"name"` // the process's name, AGENT@SESSION
	Agent   string     `json:"agent"`
	Session string     `json:"session"`
	// Supervisor and SupervisorPID name the supervisor the agent runs
	// under, with its restart type; empty for an unsupervised agent.
	Supervisor    string     `json:"supervisor,omitempty"`
	SupervisorPID kernel.PID `json:"supervisor_pid,omitempty"`
	Restart       string     `json:"restart,omitempty"`
	// Services are the services the agent registered before the answer.
	Services []string `json:"services,omitempty"`
}
