package cmdline_test

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/weftos/weftos/internal/cmdline"
)

// A command table: help, did-you-mean and completion come from it.
func ExampleProgram() {
	var home string
	p := &cmdline.Program{
		Name:    "tool",
		Summary: "an example",
		Globals: func(fs *flag.FlagSet) { fs.StringVar(&home, "home", "/srv", "home `DIR`") },
		Commands: []*cmdline.Command{
			{Name: "greet", Summary: "greet someone", Args: "NAME", MinArgs: 1, MaxArgs: 1,
				Setup: func(fs *flag.FlagSet) cmdline.Action {
					times := cmdline.Count(fs, "n", 1, "how many times")
					return func(_ context.Context, args []string) error {
						for range *times {
							fmt.Printf("hello, %s (from %s)\n", args[0], home)
						}
						return nil
					}
				}},
		},
	}
	p.Run(context.Background(), []string{"greet", "ada", "-n", "2"}, os.Stdout, os.Stdout)
	p.Run(context.Background(), []string{"greet", "--help"}, os.Stdout, os.Stdout)
	p.Run(context.Background(), []string{"gret", "ada"}, os.Stdout, os.Stdout)
	p.Run(context.Background(), []string{"greet", "-n", "-1", "ada"}, os.Stdout, os.Stdout)
	// Output:
	// hello, ada (from /srv)
	// hello, ada (from /srv)
	// Usage: tool greet NAME [flags]
	//
	// greet someone
	//
	// Flags:
	//   -n int  how many times (default 1)
	//
	// Global flags:
	//   --home DIR  home DIR (default "/srv")
	// tool: unknown command "gret" — did you mean "greet"? (run `tool help`)
	// tool: greet: invalid value "-1" for flag -n: must not be negative
	// run 'tool greet --help' for usage
}

func ExampleSuggest() {
	cmds := []string{"status", "chain", "memory"}
	fmt.Printf("%q %q\n", cmdline.Suggest("chian", cmds), cmdline.Suggest("frobnicate", cmds))
	// Output: "chain" ""
}
