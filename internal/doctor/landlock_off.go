//go:build nollm

package doctor

import (
	"context"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/layers"
)

// Landlock: a binary without agents (nollm) has no shell_exec to confine.
func Landlock(string) Check {
	return func(context.Context) []apitype.DoctorCheck {
		return ok("landlock", "no shell_exec to confine: %v", layers.NotBuilt(layers.LLM))
	}
}
