package agenthost

import (
	"github.com/weftos/weftos/internal/agentdef"
	"github.com/weftos/weftos/internal/skills"
)

// skillsPrompt renders the definition's skills (workspace first, then the
// home) for the system prompt. Missing skills are logged, not fatal.
func (h *Host) skillsPrompt(def agentdef.Definition, workspace string) string {
	if len(def.Skills) == 0 {
		return ""
	}
	list, err := skills.LoadAll(def.Skills, workspace, h.home)
	if err != nil {
		h.log.Warn("agent skills", "agent", def.Name, "err", err)
	}
	return skills.Prompt(list)
}
