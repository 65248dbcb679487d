// Package doctor checks a WeftOS node's setup and health for `weave
// doctor`: the home's permissions, the node keys, the audit chain, the
// constitution in force, the LLM providers, free disk space, Landlock, the
// log. Each check yields lines with a status (ok, warn, fail, skip), a
// message and a fix. The daemon runs them with its live state (GET
// /v1/doctor); without a daemon, Offline builds the same checks from the
// home's files. Nothing a check prints contains a secret.
package doctor

import (
	"context"
	"fmt"
	"sync"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/redact"
)

// Check is one check; it may report several lines (one per provider).
type Check func(ctx context.Context) []apitype.DoctorCheck

// Run runs the checks concurrently and returns their lines in the order
// of the checks. Messages and fixes are passed through redact.String.
func Run(ctx context.Context, checks ...Check) []apitype.DoctorCheck {
	res := make([][]apitype.DoctorCheck, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { res[i] = c(ctx) })
	}
	wg.Wait()
	var out []apitype.DoctorCheck
	for _, r := range res {
		for _, c := range r {
			c.Message, c.Fix = redact.String(c.Message), redact.String(c.Fix)
			out = append(out, c)
		}
	}
	return out
}

func line(name, status, fix, format string, args ...any) []apitype.DoctorCheck {
	return []apitype.DoctorCheck{{Name: name, Status: status, Message: fmt.Sprintf(format, args...), Fix: fix}}
}

func ok(name, format string, args ...any) []apitype.DoctorCheck {
	return line(name, apitype.DoctorOK, "", format, args...)
}

func warn(name, fix, format string, args ...any) []apitype.DoctorCheck {
	return line(name, apitype.DoctorWarn, fix, format, args...)
}

func fail(name, fix, format string, args ...any) []apitype.DoctorCheck {
	return line(name, apitype.DoctorFail, fix, format, args...)
}

func skip(name, format string, args ...any) []apitype.DoctorCheck {
	return line(name, apitype.DoctorSkip, "", format, args...)
}

// bytesIEC renders a size: 512 B, 3.2 MiB, 41.0 GiB.
func bytesIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
