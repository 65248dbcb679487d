//go:build !nollm

package doctor

import (
	"context"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/tools"
)

// Landlock checks how shell_exec programs are confined, given
// agents.shell_confinement (required, best_effort or off).
func Landlock(mode string) Check {
	return func(context.Context) []apitype.DoctorCheck {
		const name = "landlock"
		how, err := tools.ShellConfinement()
		switch {
		case mode == "off":
			return warn(name, `set agents.shell_confinement = "required" in weftos.toml`, "shell confinement is off: allow-listed programs run unconfined")
		case err == nil:
			return ok(name, "%s: shell_exec programs run confined to the workspace", how)
		case mode == "best_effort":
			return warn(name, "run on Linux 5.13 or later with Landlock enabled (landlock in the lsm= boot parameter)",
				"unavailable (%v): shell_exec programs run unconfined (agents.shell_confinement = best_effort)", err)
		}
		return warn(name, `run on Linux 5.13 or later with Landlock enabled (landlock in the lsm= boot parameter), or accept unconfined programs with agents.shell_confinement = "best_effort"`,
			"unavailable (%v): shell_exec refuses to run programs (agents.shell_confinement = required)", err)
	}
}
