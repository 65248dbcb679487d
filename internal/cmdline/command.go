package cmdline

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// Action runs a command once its flags are parsed; args are its
// positional arguments, already counted against MinArgs and MaxArgs.
type Action func(ctx context.Context, args []string) error

// Command is one entry of a command table. A leaf declares its flags in
// Setup and runs the Action Setup returns; a group dispatches to Subs.
// Help, did-you-mean suggestions and shell completion all derive from the
// table, so they cannot go stale.
type Command struct {
	Name    string
	Aliases []string
	// Summary is one line: shown in the parent's list and in the
	// command's own help.
	Summary string
	// Help is optional further text for the command's own help.
	Help string
	// Args is the synopsis of the positional arguments, e.g. "SEQ" or
	// "PATH...". A leaf takes between MinArgs and MaxArgs of them
	// (MaxArgs < 0: no maximum); the zero values mean none.
	Args             string
	MinArgs, MaxArgs int
	// Choices are the values the first positional argument takes, offered
	// by shell completion (files are offered when a leaf has Args but no
	// Choices).
	Choices []string
	// Setup declares the leaf's flags on fs and returns what to run. It
	// must do nothing else: help and completion call it without running
	// the command.
	Setup func(fs *flag.FlagSet) Action
	// Subs are a group's subcommands.
	Subs []*Command
}

// Program is a binary's command table. Run adds three commands to it:
// help [COMMAND [SUBCOMMAND]], version and completion bash|zsh|fish.
type Program struct {
	Name     string // the binary, e.g. "weave"
	Summary  string // one line, under the name in the top-level help
	Version  string
	Commands []*Command
	// Globals declares the flags every leaf takes (e.g. --home, --json).
	// A leaf's own flag of the same name takes precedence.
	Globals func(fs *flag.FlagSet)
	// Footer ends the top-level help.
	Footer string
}

// Run dispatches args (without the program name) and returns the exit
// code: 0, ExitError for a failed operation, ExitUsage for a bad command
// line. Help goes to stdout; errors are reported on stderr by Report,
// usage errors with a hint naming the command's help.
func (p *Program) Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	r := p.runner(stdout)
	return Report(stderr, p.Name, r.dispatch(ctx, r.root, nil, args))
}

// Walk calls fn for the top level (path nil) and for every command and
// subcommand, the built-in ones included, parents before children. path
// is the command's words after the program name.
func (p *Program) Walk(fn func(path []string, c *Command)) {
	r := p.runner(io.Discard)
	var walk func(path []string, c *Command)
	walk = func(path []string, c *Command) {
		fn(path, c)
		for _, s := range c.Subs {
			walk(append(slices.Clip(path), s.Name), s)
		}
	}
	walk(nil, r.root)
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// Check reports the mistakes a command table can have: a command without
// a summary, both or neither of Setup and Subs, duplicate or unusable
// names (names go into shell scripts), argument counts that contradict
// each other, and a leaf flag named h or help (those ask for help).
func (p *Program) Check() error {
	var errs []error
	fail := func(path []string, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", strings.Join(append([]string{p.Name}, path...), " "), fmt.Sprintf(format, args...)))
	}
	r := p.runner(io.Discard)
	r.globals.VisitAll(func(f *flag.Flag) {
		if !validName.MatchString(f.Name) {
			fail(nil, "global flag name %q", f.Name)
		}
	})
	p.Walk(func(path []string, c *Command) {
		if len(path) > 0 && c.Summary == "" {
			fail(path, "no summary")
		}
		for _, n := range append([]string{c.Name}, c.Aliases...) {
			if !validName.MatchString(n) {
				fail(path, "name %q", n)
			}
		}
		if len(path) > 0 && (c.Setup == nil) == (len(c.Subs) == 0) {
			fail(path, "want exactly one of Setup and Subs")
		}
		seen := map[string]bool{}
		for _, s := range c.Subs {
			for _, n := range append([]string{s.Name}, s.Aliases...) {
				if seen[n] {
					fail(path, "two subcommands named %q", n)
				}
				seen[n] = true
			}
		}
		if c.Setup == nil {
			return
		}
		if c.MinArgs < 0 || (c.MaxArgs >= 0 && c.MinArgs > c.MaxArgs) || (c.MaxArgs != 0) == (c.Args == "") {
			fail(path, "Args %q, MinArgs %d, MaxArgs %d disagree", c.Args, c.MinArgs, c.MaxArgs)
		}
		fs := r.ownFlags(path, c)
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name == "h" || f.Name == "help" || !validName.MatchString(f.Name) {
				fail(path, "flag name %q", f.Name)
			}
		})
	})
	return errors.Join(errs...)
}

// runner is one Run: the table with the built-in commands, bound to the
// output the built-ins print to.
type runner struct {
	p       *Program
	out     io.Writer
	root    *Command
	globals *flag.FlagSet // the global flags, for help, completion and scanning
}

func (p *Program) runner(out io.Writer) *runner {
	r := &runner{p: p, out: out, globals: newFlagSet(nil)}
	if p.Globals != nil {
		p.Globals(r.globals)
	}
	r.root = &Command{Name: p.Name, Summary: p.Summary, Subs: append(slices.Clip(p.Commands), r.builtins()...)}
	return r
}

func newFlagSet(path []string) *flag.FlagSet {
	fs := flag.NewFlagSet(strings.Join(path, " "), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// ownFlags is a scratch flag set with the leaf's own flags.
func (r *runner) ownFlags(path []string, c *Command) *flag.FlagSet {
	fs := newFlagSet(path)
	if c.Setup != nil {
		c.Setup(fs)
	}
	return fs
}

func (r *runner) builtins() []*Command {
	var top []string
	for _, c := range r.p.Commands {
		top = append(top, c.Name)
	}
	top = append(top, "completion", "help", "version")
	return []*Command{
		{Name: "completion", Summary: "print a shell completion script (bash, zsh or fish)", Args: "bash|zsh|fish", MinArgs: 1, MaxArgs: 1,
			Choices: slices.Clone(Shells),
			Help: fmt.Sprintf("Load it in the current shell:\n\n  bash:  source <(%[1]s completion bash)     # e.g. in ~/.bashrc\n"+
				"  zsh:   source <(%[1]s completion zsh)      # in ~/.zshrc, after compinit\n"+
				"  fish:  %[1]s completion fish | source      # or save it in ~/.config/fish/completions/%[1]s.fish", r.p.Name),
			Setup: func(*flag.FlagSet) Action {
				return func(_ context.Context, args []string) error { return r.completion(args[0]) }
			}},
		{Name: "help", Summary: "show a command's usage, subcommands and flags", Args: "[COMMAND [SUBCOMMAND]]", MaxArgs: -1, Choices: top,
			Setup: func(*flag.FlagSet) Action {
				return func(_ context.Context, args []string) error { return r.help(args) }
			}},
		{Name: "version", Summary: "print the version", Setup: func(*flag.FlagSet) Action {
			return func(context.Context, []string) error {
				_, err := fmt.Fprintln(r.out, r.p.Name, r.p.Version)
				return err
			}
		}},
	}
}

// find returns the subcommand of c named (or aliased) name.
func (c *Command) find(name string) *Command {
	for _, s := range c.Subs {
		if s.Name == name || slices.Contains(s.Aliases, name) {
			return s
		}
	}
	return nil
}

func isHelpFlag(a string) bool { return a == "-h" || a == "--help" || a == "-help" }

func (r *runner) dispatch(ctx context.Context, c *Command, path []string, args []string) error {
	if c.Setup != nil {
		return r.runLeaf(ctx, c, path, args)
	}
	if len(path) == 0 && len(args) == 0 {
		return r.printHelp(c, path)
	}
	if len(args) > 0 && isHelpFlag(args[0]) {
		return r.printHelp(c, path)
	}
	if len(path) == 0 && (args[0] == "--version" || args[0] == "-version") {
		return r.dispatch(ctx, c, path, []string{"version"})
	}
	if len(path) > 0 && len(args) > 0 && args[0] == "help" && c.find("help") == nil {
		return r.help(append(slices.Clip(path), args[1:]...))
	}
	i := r.subIndex(c, args)
	if i < 0 {
		if slices.ContainsFunc(args, isHelpFlag) {
			return r.printHelp(c, path)
		}
		if len(path) == 0 {
			return &UsageError{Msg: "missing command", Hint: fmt.Sprintf("run '%s help' for the commands", r.p.Name)}
		}
		return &UsageError{Msg: fmt.Sprintf("%s: missing subcommand (want %s)", strings.Join(path, " "), orList(names(c.Subs))), Hint: r.hint(path)}
	}
	sub := c.find(args[i])
	if sub == nil {
		return r.unknown(c, path, args[i])
	}
	return r.dispatch(ctx, sub, append(slices.Clip(path), sub.Name), slices.Concat(args[:i], args[i+1:]))
}

// subIndex finds the subcommand among args: the first one, or, when flags
// come first (weft sessions --json list), the first word that is not a
// flag or a flag's value.
func (r *runner) subIndex(c *Command, args []string) int {
	var takesValue map[string]bool
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return -1
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			return i
		}
		if takesValue == nil {
			takesValue = r.valueFlags(c)
		}
		if name := trimDashes(a); !strings.Contains(name, "=") && takesValue[name] {
			i++
		}
	}
	return -1
}

func trimDashes(a string) string { return strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-") }

// valueFlags are the names of the flags that take a value, among the
// global flags and those of every leaf under c.
func (r *runner) valueFlags(c *Command) map[string]bool {
	m := map[string]bool{}
	add := func(f *flag.Flag) {
		if !isBoolFlag(f) {
			m[f.Name] = true
		}
	}
	r.globals.VisitAll(add)
	var walk func(path []string, c *Command)
	walk = func(path []string, c *Command) {
		if c.Setup != nil {
			r.ownFlags(path, c).VisitAll(add)
		}
		for _, s := range c.Subs {
			walk(append(slices.Clip(path), s.Name), s)
		}
	}
	walk(nil, c)
	return m
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func (r *runner) runLeaf(ctx context.Context, c *Command, path []string, args []string) error {
	fs := newFlagSet(path)
	action := c.Setup(fs)
	own := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) { own[f.Name] = true })
	if r.p.Globals != nil {
		g := newFlagSet(path)
		r.p.Globals(g)
		g.VisitAll(func(f *flag.Flag) {
			if !own[f.Name] {
				fs.Var(f.Value, f.Name, f.Usage)
			}
		})
	}
	pos, err := Parse(fs, args, 0, -1)
	if errors.Is(err, flag.ErrHelp) {
		return r.printHelp(c, path)
	}
	if err == nil && (len(pos) < c.MinArgs || (c.MaxArgs >= 0 && len(pos) > c.MaxArgs)) {
		want := c.Args
		if want == "" {
			want = "none"
		}
		err = Usagef("%s: wrong number of arguments: want %s, got %d", strings.Join(path, " "), want, len(pos))
	}
	if err == nil {
		err = action(ctx, pos)
	}
	var ue *UsageError
	if errors.As(err, &ue) && ue.Hint == "" && !ue.inline {
		ue.Hint = r.hint(path)
	}
	return err
}

func (r *runner) hint(path []string) string {
	return fmt.Sprintf("run '%s --help' for usage", strings.Join(append([]string{r.p.Name}, path...), " "))
}

// unknown is the usage error for a command or subcommand that c lacks,
// with the closest name when one is close enough to be a typo.
func (r *runner) unknown(c *Command, path []string, name string) error {
	var cands []string
	for _, s := range c.Subs {
		cands = append(cands, s.Name)
		cands = append(cands, s.Aliases...)
	}
	msg := fmt.Sprintf("unknown command %q", name)
	see := r.p.Name + " help"
	if len(path) > 0 {
		msg = fmt.Sprintf("%s: unknown subcommand %q", strings.Join(path, " "), name)
		see = strings.Join(append([]string{r.p.Name}, path...), " ") + " --help"
	}
	if s := Suggest(name, cands); s != "" {
		msg += fmt.Sprintf(" — did you mean %q?", s)
	}
	return &UsageError{Msg: msg + " (run `" + see + "`)", inline: true}
}

// help prints the help of the command at path (the top level for none).
func (r *runner) help(path []string) error {
	path = slices.Clone(path)
	c := r.root
	for i, name := range path {
		if c.Setup != nil {
			return &UsageError{Msg: fmt.Sprintf("help: %s has no subcommands", strings.Join(path[:i], " ")), Hint: r.hint([]string{"help"})}
		}
		sub := c.find(name)
		if sub == nil {
			return r.unknown(c, path[:i], name)
		}
		c, path[i] = sub, sub.Name
	}
	return r.printHelp(c, path)
}

func names(cs []*Command) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// orList renders a, b or c.
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}
