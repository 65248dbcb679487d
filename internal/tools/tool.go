package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
)

// Tool is a built-in tool an agent can call.
type Tool interface {
	// Name is the name the model calls the tool by, e.g. "read_file".
	Name() string
	// Description tells the model what the tool does.
	Description() string
	// Schema is the JSON Schema (draft 2020-12 subset) of the input object.
	Schema() json.RawMessage
	// Action validates input and describes the governed action the call
	// would perform, before anything is executed. It touches nothing but
	// the input (and, for file tools, the workspace root path in env).
	Action(env *Env, input json.RawMessage) (Action, error)
	// Run validates input again and executes the call.
	Run(ctx context.Context, env *Env, input json.RawMessage) (json.RawMessage, error)
}

// Action is the governed action a tool call performs: the fields governance
// conditions match on.
type Action struct {
	Name  string            `json:"action"`          // e.g. "fs.write", "net.egress", "tool.shell.git"
	Tool  string            `json:"tool"`            // the tool name, or the program for shell_exec
	Path  string            `json:"path,omitempty"`  // absolute, cleaned path inside the workspace
	Host  string            `json:"host,omitempty"`  // host name of a network action
	Extra map[string]string `json:"extra,omitempty"` // further tool-specific facts
}

// Kernel is the part of the kernel spawn_agent and send_message need. The
// implementation must apply the calling process's capabilities.
type Kernel interface {
	// Spawn starts a process of the given kind and returns its PID.
	Spawn(ctx context.Context, name, kind string, args json.RawMessage) (uint64, error)
	// Send delivers a text message to the process toPID.
	Send(ctx context.Context, toPID uint64, text string) error
}

// Registry holds tools by name.
type Registry struct {
	tools map[string]Tool
}

// NewRegistry returns a registry of the given tools. Duplicate or empty
// names and unparsable schemas are errors.
func NewRegistry(tools ...Tool) (*Registry, error) {
	r := &Registry{tools: make(map[string]Tool, len(tools))}
	for _, t := range tools {
		if t == nil || t.Name() == "" {
			return nil, fmt.Errorf("tools: a tool without a name")
		}
		if _, dup := r.tools[t.Name()]; dup {
			return nil, fmt.Errorf("tools: duplicate tool %q", t.Name())
		}
		if _, err := ParseSchema(t.Schema()); err != nil {
			return nil, fmt.Errorf("tools: %s: %w", t.Name(), err)
		}
		r.tools[t.Name()] = t
	}
	return r, nil
}

// Default returns a registry of every built-in tool.
func Default() *Registry {
	r, err := NewRegistry(Builtins()...)
	if err != nil {
		// The built-in schemas are constants checked by the tests.
		panic(err)
	}
	return r
}

// Builtins returns a fresh instance of every built-in tool, sorted by name.
func Builtins() []Tool {
	return []Tool{
		editFileTool(), listDirTool(), readFileTool(), sendMessageTool(),
		shellExecTool(), spawnAgentTool(), webFetchTool(), writeFileTool(),
	}
}

// Get returns the tool called name.
func (r *Registry) Get(name string) (Tool, bool) {
	t, ok := r.tools[name]
	return t, ok
}

// Has reports whether the registry has a tool of that name.
func (r *Registry) Has(name string) bool {
	_, ok := r.Get(name)
	return ok
}

// Names returns the tool names, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.tools))
	for n := range r.tools {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// List returns the tools sorted by name.
func (r *Registry) List() []Tool {
	names := r.Names()
	out := make([]Tool, len(names))
	for i, n := range names {
		out[i] = r.tools[n]
	}
	return out
}

// Action looks up a tool and describes the call's governed action. An
// unknown tool is an invalid_input error naming the tools that exist.
func (r *Registry) Action(env *Env, name string, input json.RawMessage) (Tool, Action, error) {
	t, ok := r.tools[name]
	if !ok {
		return nil, Action{}, toolErr(name, CodeInvalidInput, nil, "no tool named %q; available tools: %v", name, r.Names())
	}
	a, err := t.Action(env, input)
	return t, a, err
}

// ValidateInput checks input against tool's schema and returns an
// invalid_input *ToolError describing every problem.
func ValidateInput(t Tool, input json.RawMessage) error {
	if p, ok := t.(interface{ parsedSchema() *Schema }); ok {
		return validateWith(t.Name(), p.parsedSchema(), input)
	}
	s, err := ParseSchema(t.Schema())
	if err != nil {
		return toolErr(t.Name(), CodeFailed, err, "the tool's own schema is invalid")
	}
	return validateWith(t.Name(), s, input)
}

func validateWith(name string, s *Schema, input json.RawMessage) error {
	if err := s.Validate(input); err != nil {
		return toolErr(name, CodeInvalidInput, err, "%v", err)
	}
	return nil
}

// builtin implements Tool for the built-in tools: In is the decoded input.
type builtin[In any] struct {
	name, desc string
	raw        json.RawMessage
	schema     *Schema
	action     func(env *Env, in *In) (Action, error)
	run        func(ctx context.Context, env *Env, in *In) (any, error)
}

var _ Tool = (*builtin[struct{}])(nil)

func newBuiltin[In any](name, desc string, s *Schema,
	action func(*Env, *In) (Action, error),
	run func(context.Context, *Env, *In) (any, error)) *builtin[In] {
	s.Dialect = SchemaDialect
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		panic(err) // a Schema always marshals
	}
	return &builtin[In]{name: name, desc: desc, raw: raw, schema: s, action: action, run: run}
}

func (b *builtin[In]) Name() string            { return b.name }
func (b *builtin[In]) parsedSchema() *Schema   { return b.schema }
func (b *builtin[In]) Description() string     { return b.desc }
func (b *builtin[In]) Schema() json.RawMessage { return append(json.RawMessage(nil), b.raw...) }

func (b *builtin[In]) decode(input json.RawMessage) (*In, error) {
	if err := validateWith(b.name, b.schema, input); err != nil {
		return nil, err
	}
	in := new(In)
	if err := json.Unmarshal(input, in); err != nil {
		return nil, toolErr(b.name, CodeInvalidInput, err, "cannot decode input: %v", err)
	}
	return in, nil
}

func (b *builtin[In]) Action(env *Env, input json.RawMessage) (Action, error) {
	in, err := b.decode(input)
	if err != nil {
		return Action{}, err
	}
	return b.action(env, in)
}

func (b *builtin[In]) Run(ctx context.Context, env *Env, input json.RawMessage) (json.RawMessage, error) {
	if env == nil {
		return nil, toolErr(b.name, CodeUnavailable, nil, "no tool environment")
	}
	in, err := b.decode(input)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, toolErr(b.name, CodeTimeout, err, "the call was cancelled before it started")
	}
	out, err := b.run(ctx, env, in)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return nil, toolErr(b.name, CodeFailed, err, "cannot encode the result")
	}
	return raw, nil
}

// schema helpers for the built-in definitions.
func ptr[T any](v T) *T { return &v }

func object(required []string, props map[string]*Schema) *Schema {
	return &Schema{Type: "object", Properties: props, Required: required, AdditionalProperties: ptr(false)}
}

func str(desc string) *Schema     { return &Schema{Type: "string", Description: desc} }
func boolean(desc string) *Schema { return &Schema{Type: "boolean", Description: desc} }
func integer(desc string, lo, hi int64) *Schema {
	return &Schema{Type: "integer", Description: desc, Minimum: &lo, Maximum: &hi}
}
