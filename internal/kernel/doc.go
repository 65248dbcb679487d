// Package kernel is the WeftOS kernel: the process table, capabilities, typed
// IPC with seven target types, the service registry, supervision trees, cron
// jobs and the event bus that lets outer layers (the audit chain, metrics)
// observe the kernel without the kernel importing them.
//
// The kernel is PID 0. Every other process has a parent, a name, a set of
// capabilities that never exceed its parent's (attenuation) and usage
// counters that are checked against its resource limits where the resource is
// used: a send past the message limit fails, a tool call past the tool-call
// limit fails, and so on.
//
// Processes run native Go handlers (see [Handler]); an LLM agent is one such
// process, whose handler is the agent loop the composition root
// (internal/daemon) registers as a process kind. Privileged operations ask
// the [Gate] first; the kernel declares that interface and the daemon plugs
// the authority pipeline (governance decision, durable chain record) into
// it.
package kernel
