package main

import (
	"context"

	"github.com/weftos/weftos/internal/annbench"
	"github.com/weftos/weftos/internal/cmdline"
)

func init() {
	register(command{"memory", "semantic memory: bench (ANN recall/QPS on .fvecs data), gen (synthetic set)", cmdMemory})
}

func cmdMemory(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return cmdline.Usagef("memory: want bench or gen")
	}
	switch args[0] {
	case "bench":
		// weave memory bench --base B.fvecs --query Q.fvecs [--gt G.ivecs] --k 10
		//   --ef 10,20,40,80,160 [--m 16 --efc 200] [--json]
		return annbench.Command(ctx, args[1:], e.stdout, e.stderr)
	case "gen":
		// weave memory gen --out DIR [--n 100000 --queries 1000 --dim 128 --clusters 1000 --seed 1]
		return annbench.Command(ctx, args, e.stdout, e.stderr)
	}
	return cmdline.Usagef("memory: unknown subcommand %q (want bench or gen)", args[0])
}
