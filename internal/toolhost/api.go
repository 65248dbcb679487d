// Package toolhost is the node's WASM tool host: it installs tool packages
// (governed, recorded on the chain before the tool exists on disk), checks
// an installed tool's files against its install record on the chain at
// every run, and runs tools in the sandbox through the authority pipeline,
// for the operator or for an agent process. It knows nothing of the daemon:
// the daemon hands it the pipeline, the chain (as the small Chain
// interface), the built-in tool names and the metrics.
//
// Built with -tags nosandbox the host is compiled out (toolhost_off.go):
// the types below stay, so its users compile unchanged, and every act
// answers layers.NotBuilt.
package toolhost

import (
	"errors"
	"log/slog"
	"time"

	"github.com/weftos/weftos/chain"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/authority"
	"github.com/weftos/weftos/internal/clock"
	"github.com/weftos/weftos/internal/homedir"
	"github.com/weftos/weftos/internal/kernel"
	"github.com/weftos/weftos/internal/nodemetrics"
	"github.com/weftos/weftos/internal/toolpkg"
)

// Dir holds installed WASM tools in the home: one directory per tool
// with the module and its install record.
const Dir = homedir.Tools

// Errors of the WASM tool layer.
var (
	ErrUnknownTool = toolpkg.ErrUnknownTool
	ErrToolExists  = toolpkg.ErrToolExists
)

// Chain is the audit chain as the host reads it: the tool.install record
// an installed tool is bound to.
type Chain interface {
	Get(seq uint64) (chain.Event, error)
}

// Builtins names the built-in tools, whose names an installed tool may not
// take. Nil (a binary without agents, nollm): the standard built-in tools
// (tools.Default), whose names stay reserved.
type Builtins interface {
	Has(name string) bool
}

// Metrics counts the operator's tool runs (an agent's are counted by its
// tool runner).
type Metrics interface {
	ToolCall(tool string, outcome nodemetrics.Outcome, d time.Duration)
}

// Options configure New.
type Options struct {
	Home string // the node's home; tools live in Home/Dir
	Auth *authority.Pipeline
	// Chain is nil when the chain is not open; ChainErr then says why (no
	// installed tool runs without its install record).
	Chain    Chain
	ChainErr func() error
	Builtins Builtins
	Metrics  Metrics
	Clock    clock.Clock
	Logger   *slog.Logger
}

// InstalledTool is an installed tool's record (install.json): everything a
// run needs, fixed at install time. Its InstallSeq is the chain seq of the
// tool.install record, whose record_hash binds every grant and limit
// (grantsHash): a record edited on disk no longer matches the chain and
// the tool will not run. The record is its own wire form.
type InstalledTool = apitype.InstalledTool

// RunResult is the outcome of running an installed tool.
type RunResult = apitype.ToolRunResult

// ErrToolTampered means an installed tool's files no longer match what its
// governed install recorded on the chain.
var ErrToolTampered = errors.New("installed tool does not match its install record on the chain")

// Caller is who runs an installed tool: an agent process (during a tool
// call) or, with Proc nil, the operator.
type Caller struct {
	Proc    *kernel.Process
	Session string
	CallID  string
	Carry   *authority.Carry // the agent turn's carry (see authority.Carry), if any
}
