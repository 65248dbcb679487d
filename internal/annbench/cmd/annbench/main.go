// Command annbench is the developer entry point of the ANN benchmark
// (the same code as `weave memory bench`): `annbench gen --out DIR` writes
// the synthetic clustered set, `annbench --base B --query Q ...` runs it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/weftos/weftos/internal/annbench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := annbench.Command(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "annbench:", err)
		os.Exit(1)
	}
}
