package agentdef

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// MaxMCPServers bounds the MCP servers one definition may list.
const MaxMCPServers = 16

// MCPServer is an MCP server whose tools the agent may call, each as
// mcp.NAME.TOOL: a program speaking MCP on stdin/stdout (Command, run
// confined like shell_exec programs) or a streamable HTTP endpoint (URL).
type MCPServer struct {
	Name    string
	Command string   // absolute path of the program
	Args    []string // its arguments
	// Env lists the names of the daemon's environment variables the
	// program receives (an allow-list; nothing else is passed on).
	Env []string
	URL string // http:// or https:// endpoint
	// ReadPaths are further paths the confined program may read and
	// execute (its own directory is always readable): a script's
	// interpreter files, say.
	ReadPaths []string
}

var (
	mcpKeys = []string{"name", "command", "args", "env", "url", "read_paths"}
	envRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
)

// mcpServers decodes the mcp_servers list.
func (p *parser) mcpServers(v *yaml.Node, field string) []MCPServer {
	if isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		p.errorf(v.Line, field, "must be a list of servers (mappings with name and command or url)")
		return nil
	}
	out := make([]MCPServer, 0, len(v.Content))
	for _, e := range v.Content {
		f := field + "[" + strconv.Itoa(len(out)) + "]"
		p.lines[f] = e.Line
		if e.Kind != yaml.MappingNode {
			p.errorf(e.Line, f, "must be a mapping with name and command or url")
			continue
		}
		var s MCPServer
		p.fields(e, f, mcpKeys, func(key string, v *yaml.Node) {
			switch key {
			case "name":
				s.Name = p.str(v, f+".name")
			case "command":
				s.Command = p.str(v, f+".command")
			case "args":
				s.Args = p.strs(v, f+".args")
			case "env":
				s.Env = p.strs(v, f+".env")
			case "url":
				s.URL = p.str(v, f+".url")
			case "read_paths":
				s.ReadPaths = p.strs(v, f+".read_paths")
			}
		})
		out = append(out, s)
	}
	return out
}

// validateMCP checks the MCP servers.
func (p *parser) validateMCP(d *Definition) {
	if len(d.MCPServers) > MaxMCPServers {
		p.errorf(p.lines["mcp_servers"], "mcp_servers", "%d servers, more than %d", len(d.MCPServers), MaxMCPServers)
	}
	seen := map[string]bool{}
	for i, s := range d.MCPServers {
		f := "mcp_servers[" + strconv.Itoa(i) + "]"
		line := p.lines[f]
		p.entryName(line, f, s.Name, "server", "no dot: tools are mcp.NAME.TOOL", seen)
		switch {
		case (s.Command == "") == (s.URL == ""):
			p.errorf(line, f, "needs exactly one of command (a program speaking MCP on stdio) and url (a streamable HTTP endpoint)")
		case s.Command != "" && !filepath.IsAbs(s.Command):
			p.errorf(line, f+".command", "%q must be an absolute path (programs are not looked up on a PATH)", s.Command)
		case s.URL != "":
			u, err := url.Parse(s.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.errorf(line, f+".url", "%q is not an http:// or https:// URL", s.URL)
			}
			if len(s.Args) > 0 || len(s.Env) > 0 || len(s.ReadPaths) > 0 {
				p.errorf(line, f, "args, env and read_paths go with command, not url")
			}
		}
		p.names(f+".env", s.Env, envRE.MatchString, "environment variable name")
		for j, rp := range s.ReadPaths {
			if !filepath.IsAbs(rp) {
				p.errorf(line, f+".read_paths["+strconv.Itoa(j)+"]", "%q must be an absolute path", rp)
			}
		}
	}
}
