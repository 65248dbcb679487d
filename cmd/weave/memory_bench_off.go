//go:build nomemory

package main

import (
	"context"
	"flag"

	"github.com/weftos/weftos/internal/cmdline"
	"github.com/weftos/weftos/internal/layers"
)

// memoryAnnbench: the ANN benchmark is part of the memory layer, compiled
// out of this binary (nomemory).
func memoryAnnbench(string) func(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(*env, *flag.FlagSet) cmdline.Action {
		return func(context.Context, []string) error { return layers.NotBuilt(layers.Memory) }
	}
}
