//go:build !nollm

package daemon

import (
	"path/filepath"

	http "github.com/weftos/weftos/internal/localhttp"

	"github.com/weftos/weftos/internal/agenthost"
	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/localapi"
	"github.com/weftos/weftos/internal/skills"
)

// handleSkills lists the skills visible from ?workspace= and the home.
func (d *Daemon) handleSkills(w http.ResponseWriter, r *http.Request) {
	ws := r.URL.Query().Get("workspace")
	roots := []string{d.home}
	if ws != "" {
		if !filepath.IsAbs(ws) {
			localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "the workspace must be an absolute path")
			return
		}
		roots = []string{ws, d.home}
	}
	list, errs := skills.List(roots...)
	out := apitype.SkillsResponse{Skills: []apitype.Skill{}}
	for _, s := range list {
		out.Skills = append(out.Skills, apitype.Skill{Name: s.Name, Description: s.Description, AllowedTools: s.AllowedTools, Path: s.Path, Unknown: s.Unknown})
	}
	for _, e := range errs {
		out.Problems = append(out.Problems, e.Error())
	}
	localapi.WriteJSON(w, out)
}

// handleAgentTools lists the tools an agent would be offered.
func (d *Daemon) handleAgentTools(w http.ResponseWriter, r *http.Request) {
	ws := r.URL.Query().Get("workspace")
	if ws == "" || !filepath.IsAbs(ws) {
		localapi.WriteError(w, http.StatusBadRequest, "invalid_argument", "?workspace= must be an absolute path")
		return
	}
	def, err := d.agenthost.FindAgent(r.URL.Query().Get("agent"), ws)
	if err != nil {
		d.fail(w, err)
		return
	}
	caps, err := d.agenthost.Caps(def)
	if err != nil {
		d.fail(w, err)
		return
	}
	out := []apitype.AgentTool{}
	for _, t := range agenthost.ToolsFor(d.builtins, def, caps) {
		out = append(out, apitype.AgentTool{Name: t.Name(), Description: t.Description()})
	}
	localapi.WriteJSON(w, out)
}
