package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/weftos/weftos/internal/apitype"
	"github.com/weftos/weftos/internal/client"
	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/doctor"
)

func init() {
	register(func(e *env) *cmdline.Command {
		return &cmdline.Command{Name: "doctor", Summary: "check the node's setup and health, with a fix for each problem", Setup: e.leaf(cmdDoctor),
			Help: "One line per check: ok, warn, fail (or skip where a check does not apply) and what to do. " +
				"With a daemon running it checks the live node; without one, the home's files (and the providers this shell's environment configures). " +
				"The exit code is 1 if any check fails."}
	})
}

func cmdDoctor(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(ctx context.Context, _ []string) error {
		rep, err := doctorReport(ctx, e)
		if err != nil {
			return err
		}
		if e.json {
			if err := cmdline.PrintJSON(e.stdout, rep); err != nil {
				return err
			}
		} else {
			for _, c := range rep.Checks {
				line := fmt.Sprintf("%-4s  %-16s %s", c.Status, c.Name, cmdline.OneLine(c.Message))
				if c.Fix != "" && c.Status != apitype.DoctorOK {
					line += " — fix: " + cmdline.OneLine(c.Fix)
				}
				fmt.Fprintln(e.stdout, line)
			}
		}
		if n := rep.Failed(); n > 0 {
			return fmt.Errorf("doctor: %d of %d checks failed", n, len(rep.Checks))
		}
		return nil
	}
}

// doctorReport asks the running daemon, or checks the home's files when
// none runs.
func doctorReport(ctx context.Context, e *env) (apitype.DoctorReport, error) {
	c, err := e.client()
	if err != nil {
		return apitype.DoctorReport{}, err
	}
	defer c.Close()
	rep, err := c.Doctor(ctx)
	if !errors.Is(err, client.ErrNoDaemon) {
		return rep, err
	}
	cfg, _ := doctor.ReadConfig(e.home) // an invalid file: the defaults, and the config check fails
	providers := doctor.Configured(cfg, os.Getenv)
	return apitype.DoctorReport{Checks: doctor.Run(ctx, doctor.Offline(doctor.LayoutOf(e.home), cfg, providers)...)}, nil
}
