package cmdline

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// printHelp writes the help of c (at path; the top level for none) to the
// runner's output.
func (r *runner) printHelp(c *Command, path []string) error {
	var b strings.Builder
	switch {
	case len(path) == 0:
		r.topHelp(&b)
	case c.Setup == nil:
		r.groupHelp(&b, c, path)
	default:
		r.leafHelp(&b, c, path)
	}
	_, err := io.WriteString(r.out, b.String())
	return err
}

func (r *runner) topHelp(w io.Writer) {
	name := r.p.Name
	if r.p.Summary != "" {
		fmt.Fprintf(w, "%s — %s\n\n", name, r.p.Summary)
	}
	fmt.Fprintf(w, "Usage: %s COMMAND [ARGS] [flags]\n\nCommands:\n", name)
	writeCommands(w, r.root.Subs)
	fmt.Fprintln(w)
	if r.p.Footer != "" {
		fmt.Fprintln(w, strings.TrimRight(r.p.Footer, "\n"))
	}
	fmt.Fprintf(w, "Run `%s help COMMAND` or `%s COMMAND --help` for a command's usage and flags.\n", name, name)
}

func (r *runner) groupHelp(w io.Writer, c *Command, path []string) {
	full := r.p.Name + " " + strings.Join(path, " ")
	fmt.Fprintf(w, "Usage: %s SUBCOMMAND [ARGS] [flags]\n\n", full)
	describe(w, c)
	fmt.Fprintln(w, "Subcommands:")
	writeCommands(w, c.Subs)
	fmt.Fprintf(w, "\nRun `%s SUBCOMMAND --help` for a subcommand's usage and flags.\n", full)
}

func (r *runner) leafHelp(w io.Writer, c *Command, path []string) {
	usage := r.p.Name + " " + strings.Join(path, " ")
	if c.Args != "" {
		usage += " " + c.Args
	}
	fmt.Fprintf(w, "Usage: %s [flags]\n\n", usage)
	describe(w, c)
	own := r.ownFlags(path, c)
	if n := countFlags(own, nil); n > 0 {
		fmt.Fprintln(w, "Flags:")
		writeFlags(w, own, nil)
	}
	shadowed := func(name string) bool { return own.Lookup(name) != nil }
	if countFlags(r.globals, shadowed) > 0 {
		if countFlags(own, nil) > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, "Global flags:")
		writeFlags(w, r.globals, shadowed)
	}
}

// describe writes the summary, help text and aliases of c, then a blank
// line.
func describe(w io.Writer, c *Command) {
	fmt.Fprintln(w, c.Summary)
	if c.Help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(c.Help, "\n"))
	}
	if len(c.Aliases) > 0 {
		fmt.Fprintf(w, "\nAliases: %s\n", strings.Join(c.Aliases, ", "))
	}
	fmt.Fprintln(w)
}

func writeCommands(w io.Writer, cs []*Command) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cs {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.Join(append([]string{c.Name}, c.Aliases...), ", "), c.Summary)
	}
	tw.Flush()
}

func countFlags(fs *flag.FlagSet, skip func(string) bool) int {
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if skip == nil || !skip(f.Name) {
			n++
		}
	})
	return n
}

// dash is how help and completion spell a flag: -x, --long (the flag
// package accepts one or two dashes for either).
func dash(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// writeFlags lists the flags of fs (but those skip names) with their type,
// usage and non-zero default.
func writeFlags(w io.Writer, fs *flag.FlagSet, skip func(string) bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(f *flag.Flag) {
		if skip != nil && skip(f.Name) {
			return
		}
		typ, usage := flagType(f)
		head := dash(f.Name)
		if typ != "" {
			head += " " + typ
		}
		if d := f.DefValue; !isZeroDefault(d) {
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					d = fmt.Sprintf("%q", d)
				}
			}
			usage += " (default " + d + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", head, strings.ReplaceAll(usage, "\n", "\n\t"))
	})
	tw.Flush()
}

// flagType names the value a flag takes ("" for a boolean): a back-quoted
// word in its usage, the Type of a Value that has one, else the flag
// package's guess.
func flagType(f *flag.Flag) (typ, usage string) {
	typ, usage = flag.UnquoteUsage(f)
	if t, ok := f.Value.(interface{ Type() string }); ok && typ == "value" {
		typ = t.Type()
	}
	if isBoolFlag(f) && !strings.Contains(f.Usage, "`") {
		typ = ""
	}
	return typ, usage
}

func isZeroDefault(d string) bool {
	switch d {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}
