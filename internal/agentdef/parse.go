package agentdef

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/weftos/weftos/internal/clip"
)

// parser accumulates the errors of one file.
type parser struct {
	file string
	errs []error
	// lines maps a dotted key path to the line of its value.
	lines map[string]int
}

const maxErrors = 20

func (p *parser) errorf(line int, field, format string, args ...any) {
	if len(p.errs) < maxErrors {
		p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse decodes and validates the definition in data; file names it in
// errors. When the file has no name key, the name is taken from file's base
// name without its extension.
func Parse(file string, data []byte) (Definition, error) {
	p := &parser{file: file, lines: map[string]int{}}
	if len(data) > MaxFileSize {
		p.errorf(0, "", "file is %d bytes, more than %d", len(data), MaxFileSize)
		return Definition{}, errors.Join(p.errs...)
	}
	if !utf8.Valid(data) {
		p.errorf(0, "", "file is not valid UTF-8")
		return Definition{}, errors.Join(p.errs...)
	}
	root, err := p.document(data)
	if err != nil {
		return Definition{}, err
	}
	d := Definition{Capabilities: DefaultCapabilities(), Source: file}
	p.definition(root, &d)
	if len(p.errs) == 0 {
		p.validate(&d)
	}
	if len(p.errs) > 0 {
		return Definition{}, errors.Join(p.errs...)
	}
	return d, nil
}

// document parses data into the root mapping, refusing syntax errors,
// empty files and several documents.
func (p *parser) document(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.errorf(0, "", "empty file")
		} else {
			p.syntaxError(err)
		}
		return nil, errors.Join(p.errs...)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errorf(extra.Line, "", "more than one YAML document")
		return nil, errors.Join(p.errs...)
	} else if !errors.Is(err, io.EOF) {
		p.syntaxError(err)
		return nil, errors.Join(p.errs...)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		p.errorf(doc.Line, "", "empty file")
		return nil, errors.Join(p.errs...)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errorf(root.Line, "", "top level must be a mapping of keys to values")
		return nil, errors.Join(p.errs...)
	}
	return root, nil
}

func (p *parser) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.errorf(line, "", "YAML syntax: %s", m[2])
		return
	}
	p.errorf(0, "", "YAML syntax: %s", strings.TrimPrefix(msg, "yaml: "))
}

// fields walks mapping n, calling set for each known key; unknown and
// duplicated keys are errors.
func (p *parser) fields(n *yaml.Node, prefix string, known []string, set func(key string, v *yaml.Node)) {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(k.Line, prefix, "keys must be plain strings")
			continue
		}
		full := k.Value
		if prefix != "" {
			full = prefix + "." + k.Value
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(k.Line, full, "duplicate key (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		if !slices.Contains(known, k.Value) {
			p.errorf(k.Line, full, "unknown field (known: %s)", strings.Join(known, ", "))
			continue
		}
		if v.Kind == yaml.AliasNode {
			p.errorf(v.Line, full, "YAML aliases are not supported")
			continue
		}
		p.lines[full] = v.Line
		set(k.Value, v)
	}
}

var (
	topKeys   = []string{"name", "description", "model", "system_prompt", "tools", "skills", "max_turns", "capabilities", "services", "restart", "supervisor", "mcp_servers"}
	capKeys   = []string{"can_spawn", "can_ipc", "can_exec_tools", "can_network", "ipc_scope", "tools_allow", "tools_deny", "shell", "memory", "limits"}
	limitKeys = []string{"tool_calls", "messages", "tokens", "cpu_time", "memory_mib"}
)

func (p *parser) definition(root *yaml.Node, d *Definition) {
	p.fields(root, "", topKeys, func(key string, v *yaml.Node) {
		switch key {
		case "name":
			d.Name = p.str(v, key)
		case "description":
			d.Description = p.str(v, key)
		case "model":
			d.Model = p.str(v, key)
		case "system_prompt":
			d.SystemPrompt = p.str(v, key)
		case "tools":
			d.Tools = p.strs(v, key)
		case "skills":
			d.Skills = p.strs(v, key)
		case "max_turns":
			d.MaxTurns = int(p.int(v, key, math.MaxInt32))
		case "capabilities":
			d.Capabilities = Capabilities{}
			if isNull(v) {
				return
			}
			if v.Kind != yaml.MappingNode {
				p.errorf(v.Line, key, "must be a mapping")
				return
			}
			p.capabilities(v, &d.Capabilities)
		case "services":
			d.Services = p.services(v, key)
		case "mcp_servers":
			d.MCPServers = p.mcpServers(v, key)
		case "restart":
			p.supervision(d).Restart = p.str(v, key)
		case "supervisor":
			if isNull(v) {
				return
			}
			if v.Kind != yaml.MappingNode {
				p.errorf(v.Line, key, "must be a mapping (name, strategy, max_restarts, window)")
				return
			}
			p.supervisor(v, p.supervision(d))
		}
	})
}

func (p *parser) capabilities(n *yaml.Node, c *Capabilities) {
	const pre = "capabilities"
	p.fields(n, pre, capKeys, func(key string, v *yaml.Node) {
		f := pre + "." + key
		switch key {
		case "can_spawn":
			c.CanSpawn = p.bool(v, f)
		case "can_ipc":
			c.CanIPC = p.bool(v, f)
		case "can_exec_tools":
			c.CanExecTools = p.bool(v, f)
		case "can_network":
			c.CanNetwork = p.bool(v, f)
		case "shell":
			c.Shell = p.bool(v, f)
		case "ipc_scope":
			c.IPCScope = p.str(v, f)
		case "memory":
			c.Memory = p.str(v, f)
			switch c.Memory {
			case "", "none", "own", "shared", "all":
			default:
				p.errorf(v.Line, f, "%q: want none, own, shared or all", c.Memory)
			}
		case "tools_allow":
			c.ToolsAllow = p.strs(v, f)
		case "tools_deny":
			c.ToolsDeny = p.strs(v, f)
		case "limits":
			if isNull(v) {
				return
			}
			if v.Kind != yaml.MappingNode {
				p.errorf(v.Line, f, "must be a mapping")
				return
			}
			p.limits(v, &c.Limits)
		}
	})
}

func (p *parser) limits(n *yaml.Node, l *Limits) {
	const pre = "capabilities.limits"
	p.fields(n, pre, limitKeys, func(key string, v *yaml.Node) {
		f := pre + "." + key
		switch key {
		case "tool_calls":
			l.ToolCalls = uint64(p.int(v, f, math.MaxInt64))
		case "messages":
			l.Messages = uint64(p.int(v, f, math.MaxInt64))
		case "tokens":
			l.Tokens = uint64(p.int(v, f, math.MaxInt64))
		case "memory_mib":
			l.MemoryMiB = uint64(p.int(v, f, 1<<40))
		case "cpu_time":
			s := p.str(v, f)
			if s == "" {
				return
			}
			dur, err := time.ParseDuration(s)
			if err != nil || dur < 0 {
				p.errorf(v.Line, f, "want a non-negative Go duration such as 90s or 5m, got %q", s)
				return
			}
			l.CPUTime = dur
		}
	})
}

func isNull(v *yaml.Node) bool { return v.Kind == yaml.ScalarNode && v.Tag == "!!null" }

// str returns a scalar's text; null is "".
func (p *parser) str(v *yaml.Node, field string) string {
	if v.Kind != yaml.ScalarNode {
		p.errorf(v.Line, field, "must be a string")
		return ""
	}
	if isNull(v) {
		return ""
	}
	return v.Value
}

func (p *parser) strs(v *yaml.Node, field string) []string {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.errorf(v.Line, field, "must be a list of strings")
		return nil
	}
	out := make([]string, 0, len(v.Content))
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode || isNull(e) {
			p.errorf(e.Line, field, "list entries must be strings")
			continue
		}
		p.lines[field+"["+strconv.Itoa(len(out))+"]"] = e.Line
		out = append(out, e.Value)
	}
	return out
}

func (p *parser) bool(v *yaml.Node, field string) bool {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!bool" {
		var b bool
		if err := v.Decode(&b); err == nil {
			return b
		}
	}
	p.errorf(v.Line, field, "want true or false, got %s", describe(v))
	return false
}

// int decodes a non-negative integer no larger than max.
func (p *parser) int(v *yaml.Node, field string, max int64) int64 {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!int" {
		var n int64
		if err := v.Decode(&n); err == nil {
			if n < 0 || n > max {
				p.errorf(v.Line, field, "%d is out of range 0..%d", n, max)
				return 0
			}
			return n
		}
	}
	p.errorf(v.Line, field, "want a whole number, got %s", describe(v))
	return 0
}

func describe(v *yaml.Node) string {
	switch v.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return strconv.Quote(clip.Ellipsis(v.Value, 40))
}

var scopeRE = regexp.MustCompile(`^(?i:all|parent|none|restricted\(\s*\d+(\s*,\s*\d+)*\s*\)|topic\(\s*[^(),\s]+(\s*,\s*[^(),\s]+)*\s*\))$`)

// validate checks value ranges and cross-field rules after decoding.
func (p *parser) validate(d *Definition) {
	stem := baseStem(p.file)
	switch {
	case d.Name == "" && ValidName(stem):
		d.Name = stem
	case d.Name == "":
		p.errorf(0, "name", "missing, and the file name %q is not a valid agent name", stem)
	case !ValidName(d.Name):
		p.errorf(p.lines["name"], "name", "%q is not a valid name (1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit)", d.Name)
	case stem != "" && ValidName(stem) && stem != d.Name:
		p.errorf(p.lines["name"], "name", "%q does not match the file name %q", d.Name, stem)
	}
	if len(d.Description) > MaxDescription {
		p.errorf(p.lines["description"], "description", "longer than %d bytes", MaxDescription)
	}
	if len(d.SystemPrompt) > MaxSystemPrompt {
		p.errorf(p.lines["system_prompt"], "system_prompt", "longer than %d bytes", MaxSystemPrompt)
	}
	if d.Model != "" && (strings.ContainsAny(d.Model, " \t\r\n") || strings.HasPrefix(d.Model, "/") || strings.HasSuffix(d.Model, "/")) {
		p.errorf(p.lines["model"], "model", "%q is not a model name (want provider/model or model)", d.Model)
	}
	if _, ok := p.lines["max_turns"]; ok && (d.MaxTurns < 1 || d.MaxTurns > MaxMaxTurns) {
		p.errorf(p.lines["max_turns"], "max_turns", "%d is out of range 1..%d", d.MaxTurns, MaxMaxTurns)
	}
	p.names("tools", d.Tools, toolRE.MatchString, "tool name")
	p.names("skills", d.Skills, ValidName, "skill name")
	c := d.Capabilities
	if c.IPCScope != "" && !scopeRE.MatchString(strings.TrimSpace(c.IPCScope)) {
		p.errorf(p.lines["capabilities.ipc_scope"], "capabilities.ipc_scope", "%q: want all, parent, none, restricted(PID,...) or topic(name,...)", c.IPCScope)
	}
	glob := func(s string) bool { _, err := path.Match(s, ""); return s != "" && err == nil }
	p.names("capabilities.tools_allow", c.ToolsAllow, glob, "glob")
	p.names("capabilities.tools_deny", c.ToolsDeny, glob, "glob")
	if c.Shell && !c.CanExecTools {
		p.errorf(p.lines["capabilities.shell"], "capabilities.shell", "needs can_exec_tools: true")
	}
	p.validateServices(d)
	p.validateMCP(d)
}

// entryName checks the name of entry field (a list element) of a kind
// (service, server): present, matching serviceRE, not seen before in the
// list; detail ends the invalid-name message.
func (p *parser) entryName(line int, field, name, kind, detail string, seen map[string]bool) {
	switch {
	case name == "":
		p.errorf(line, field+".name", "missing")
	case !serviceRE.MatchString(name):
		p.errorf(line, field+".name", "%q is not a valid %s name (1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit; %s)", name, kind, detail)
	case seen[name]:
		p.errorf(line, field+".name", "%q listed twice", name)
	}
	seen[name] = true
}

func (p *parser) names(field string, list []string, ok func(string) bool, what string) {
	seen := map[string]bool{}
	for i, s := range list {
		line, ok2 := p.lines[field+"["+strconv.Itoa(i)+"]"]
		if !ok2 {
			line = p.lines[field]
		}
		if !ok(s) {
			p.errorf(line, field, "%q is not a valid %s", s, what)
			continue
		}
		if seen[s] {
			p.errorf(line, field, "%q listed twice", s)
		}
		seen[s] = true
	}
}

// baseStem is the file's base name without .yaml/.yml.
func baseStem(file string) string {
	b := file
	if i := strings.LastIndexAny(b, `/\`); i >= 0 {
		b = b[i+1:]
	}
	for _, ext := range []string{".yaml", ".yml"} {
		if strings.HasSuffix(b, ext) {
			return strings.TrimSuffix(b, ext)
		}
	}
	return ""
}
