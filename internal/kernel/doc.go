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
// Until the agent framework lands, processes run native Go handlers (see
// [Handler]). Privileged operations ask an optional [Gate] first; the kernel
// declares that interface and the composition root (internal/daemon) plugs the
// governance layer into it.
package kernel
