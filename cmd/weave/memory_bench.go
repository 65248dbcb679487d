//go:build !nomemory

package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/weftos/weftos/internal/annbench"
	"github.com/weftos/weftos/internal/cmdline"
)

// memoryAnnbench sets up bench or gen, which hand their flags on to
// annbench.Command. Its flags are imported from annbench's own flag set
// (from its -h output), so they are checked here — one usage error, not
// annbench's usage dump — and listed in help and completion.
func memoryAnnbench(sub string) func(e *env, fs *flag.FlagSet) cmdline.Action {
	return func(e *env, fs *flag.FlagSet) cmdline.Action {
		var defaults bytes.Buffer
		err := annbench.Command(context.Background(), []string{sub, "-h"}, io.Discard, &defaults)
		var im *cmdline.Imported
		if errors.Is(err, flag.ErrHelp) {
			// Every int flag of bench and gen is a count or a size.
			im, err = cmdline.ImportFlags(fs, defaults.String(), true)
		} else {
			err = fmt.Errorf("memory %s: reading annbench's flags: %v", sub, err)
		}
		return func(ctx context.Context, _ []string) error {
			if err != nil {
				return err
			}
			return annbench.Command(ctx, append([]string{sub}, im.Args()...), e.stdout, e.stderr)
		}
	}
}
